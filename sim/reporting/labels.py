"""Parameters named by their meaning, with the key in brackets, as findings, tables and figure
titles write them: 'a dedicated staffed secretariat [group.secretariat]'."""

from __future__ import annotations

import re

from sim.errors import InputError
from sim.model.keys import DATED_FORMS
from sim.model.params import Key


def meaning(key: str) -> str:
    """What a (possibly dated) key means, in a few words, from its declaration in
    sim/model/params.py: 'per-year drift of the log budget for the group, every member'; the key
    itself when it is not a parameter key."""
    base, _, date = key.partition("@")
    try:
        parsed = Key.parse(base)
    except InputError:
        return key
    text = re.sub(r"^M\d+(?:, M\d+)*: ", "", parsed.spec.meaning)  # a variant's mechanism
    text = re.sub(r"\s*\([^()]*\)", "", text)  # the mechanism, units, asides
    text = text.split(": ")[0].split("; ")[0].strip() or key
    if parsed.member == "*":
        text += ", every member"
    elif parsed.member:
        text += f", {parsed.member}"
    if parsed.field in DATED_FORMS:  # it sets the dated form too (keys.reaching_dated_forms)
        text += f", {'from ' + date if date else 'the whole run'}"
    elif date:
        text += f", from {date}"
    return text


def key_label(key: str) -> str:
    """'meaning [key]', or the key alone when it has no declared meaning."""
    said = meaning(key)
    return key if said == key else f"{said} [{key}]"
