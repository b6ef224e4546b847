"""What of a live console desired state can declare: import writes that, and names what it leaves out.

The console is untrusted, and not everything it holds fits the desired-state schema
(schemas/desired-state.schema.json) or the rules `validate` checks offline: a site name with a
capital or an underscore, an empty id or org, an id or org with a space or a line break in it (or
longer than 128 characters), a product or app reconciler does not know, an app outside its
subscription's product. One such value would make every file import writes fail `reconciler
validate` and stop every plan, so import leaves each such entry out and says which and why.
`reconciler plan` on the files still shows no changes: a subscription left out is listed as
unmanaged, an app or a site left out is not managed, and an assertion left out is not checked.
"""

from __future__ import annotations

import functools

from reconciler.model import PRODUCT_APPS, SITE_NAME, Subscription
from reconciler.terminal import printable

#: The schema's maxLength of a site name.
SITE_NAME_MAX = 63

_SITE_NAME_RULE = (
    "not a site name desired state can declare (2 to 63 lowercase letters, digits and hyphens, "
    "starting and ending with a letter or digit)"
)


@functools.cache
def _id_rule() -> tuple[str, int, str]:
    """The desired-state schema's definition of an id: its pattern, its maxLength, and it in words."""
    from reconciler.validation.schema import load_schema

    definition = load_schema("desired-state.schema.json")["$defs"]["id"]
    most = int(definition["maxLength"])
    words = f"one word of at most {most} characters, no spaces or line breaks"
    return str(definition["pattern"]), most, f"not an id desired state can declare ({words})"


def declarable_id(value: str) -> bool:
    """Whether desired state can hold `value` as an id (a subscription's, an org's, a billing account's)."""
    from reconciler.validation.schema import ecma_regex

    pattern, most, _ = _id_rule()
    return len(value) <= most and ecma_regex(pattern).search(value) is not None


def shown(value: str) -> str:
    """A console value in a note: escaped, and an empty one visible as such."""
    return printable(value) if value else '""'


def declarable_site_name(name: str) -> bool:
    """Whether desired state can name the site `name`, in a declaration or as an app's site."""
    return SITE_NAME.fullmatch(name) is not None and len(name) <= SITE_NAME_MAX


def site_note(name: str, org: str) -> str | None:
    """Why the live site `name` of `org` is left out of sites.yaml, or None when it is declared."""
    if not declarable_site_name(name):
        return f"site {shown(name)}: its name is {_SITE_NAME_RULE}"
    if not org:
        return f"site {shown(name)}: the console gives it no org"
    return None if declarable_id(org) else f"site {shown(name)}: its org {shown(org)} is {_id_rule()[2]}"


def subscription_note(sub: Subscription) -> str | None:
    """Why the subscription is left out altogether, or None when it is declared."""
    if sub.id and declarable_id(sub.id):
        return None
    if sub.id:
        return f"subscription {shown(sub.id)}: its id is {_id_rule()[2]}"
    return f"a subscription with no id ({shown(sub.product)}, billing account {shown(sub.billing_account)})"


def assertion_notes(sub: Subscription) -> list[str]:
    """Why an optional assertion (`billing_account`, `product`) is left out of the subscription."""
    notes = []
    if not sub.billing_account:
        notes.append(f"the billing_account of {shown(sub.id)}: the console gives it none")
    elif not declarable_id(sub.billing_account):
        account = shown(sub.billing_account)
        notes.append(f"the billing_account of {shown(sub.id)}: {account} is {_id_rule()[2]}")
    if sub.product not in PRODUCT_APPS:
        notes.append(
            f"the product of {shown(sub.id)}: {shown(sub.product)} is not one of {', '.join(PRODUCT_APPS)}"
        )
    return notes


def app_note(sub: Subscription, app: str, site: str) -> str | None:
    """Why the app `app` on `site` is left out of the subscription's apps, or None when it is declared."""
    where = f"app {shown(app)} of {shown(sub.id)} on {shown(site)}"
    if app not in PRODUCT_APPS.get(sub.product, ()):
        return f"{where}: product {shown(sub.product)} has no such app"
    if not declarable_site_name(site):
        return f"{where}: the site's name is {_SITE_NAME_RULE}"
    return None
