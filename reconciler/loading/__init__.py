"""Loading: YAML files in, plain data and a `DesiredState` out, with source positions on demand."""
