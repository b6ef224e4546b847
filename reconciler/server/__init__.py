"""The sandbox console served over the console API (`reconciler sandbox serve`).

`api` answers requests over a console service, `httpserver` puts it on a socket with fault
injection around it (`faults`), and `wire` is the JSON both this server and the `http` provider speak.
"""
