"""A scenario from a form's answers, as the YAML ``nestmap scenario`` reads, and in a link.

The Scenarios page's builder collects answers (a service to add, services to retire, referral
links to add or remove, other costs); ``build_document`` turns them into a scenario document in
the schema of ``nestmap.scenarios.model``; ``to_yaml`` writes it as a file; ``to_link`` and
``from_link`` carry it in a URL ("share this view"): compact (JSON, zlib, base64url), bounded
in size, and read back through ``read_untrusted``, the checks of any pasted scenario (every
value checked by type before anything reads it).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from typing import Any

from nestmap.errors import InputError, Problem
from nestmap.loaders.limits import MAX_DASHBOARD_SCENARIO_BYTES, size_text
from nestmap.scenarios.model import read_untrusted

# A link's scenario parameter; browsers and servers take URLs of several KiB, and the builder's
# scenarios (one service, a few links) compress to a few hundred characters.
MAX_LINK_CHARS = 4_000
LINK_FILE = "shared-link.json"
DEFAULT_SOURCE = "workshop scenario builder (illustrative: the room's proposal)"


def service_id_for(name: str, taken: set[str]) -> str:
    """An id for a new service from its name (``new_family_team``), unlike any in ``taken``."""
    stem = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:40] or "service"
    candidate, number = f"new_{stem}", 1
    while candidate in taken:
        number += 1
        candidate = f"new_{stem}_{number}"
    return candidate


def build_document(answers: dict[str, Any], taken_ids: set[str]) -> dict[str, Any]:
    """The scenario document for the builder's ``answers``.

    ``answers``: ``name``, ``description``; ``service`` (None, or ``name``, ``provider``,
    ``sector``, ``areas`` [codes], ``stages``, ``min_age_months``, ``max_age_months``,
    ``threshold``, ``offers`` [{level, focus}], ``capacity_per_year``, ``annual_cost``,
    ``self_referral``, ``assesses_relationship``, ``referred_from`` [service ids], ``reason``,
    ``source``); ``retire`` [service ids]; ``add_referrals`` and ``remove_referrals``
    [{from_service, to_service, reason}]; ``costs`` [{item, amount}]. Empty parts are left
    out, as a person writing the file would."""
    document: dict[str, Any] = {"name": str(answers.get("name") or "").strip()}
    if str(answers.get("description") or "").strip():
        document["description"] = str(answers["description"]).strip()
    service = answers.get("service")
    new_links: list[dict[str, Any]] = []
    if service:
        source = str(service.get("source") or "").strip() or DEFAULT_SOURCE
        new_id = str(service.get("id") or "") or service_id_for(
            str(service.get("name") or ""), taken_ids
        )
        added: dict[str, Any] = {
            "id": new_id,
            "name": str(service.get("name") or "").strip(),
            "provider": str(service.get("provider") or "").strip() or None,
            "sector": service.get("sector"),
            "status": "active",
            "areas": list(service.get("areas") or []),
            "stages": list(service.get("stages") or []),
            "min_age_months": service.get("min_age_months"),
            "max_age_months": service.get("max_age_months"),
            "threshold": service.get("threshold"),
            "self_referral": bool(service.get("self_referral")),
            "capacity_per_year": service.get("capacity_per_year"),
            "assesses_relationship": bool(service.get("assesses_relationship")),
            "source": source,
            "annual_cost": service.get("annual_cost"),
            "offers": [
                {"level": offer["level"], "focus": offer["focus"]}
                for offer in service.get("offers") or []
            ],
        }
        document["add_services"] = [
            {key: value for key, value in added.items() if value is not None}
        ]
        new_links = [
            {
                "from_service": referrer,
                "to_service": new_id,
                "reason": service.get("reason") or "parent_infant_relationship",
                "source": source,
            }
            for referrer in service.get("referred_from") or []
        ]
    if answers.get("retire"):
        document["retire_services"] = list(answers["retire"])
    links = new_links + [
        {**link, "source": link.get("source") or DEFAULT_SOURCE}
        for link in answers.get("add_referrals") or []
    ]
    if links:
        document["add_referrals"] = links
    if answers.get("remove_referrals"):
        document["remove_referrals"] = [
            {key: link[key] for key in ("from_service", "to_service", "reason")}
            for link in answers["remove_referrals"]
        ]
    if answers.get("costs"):
        document["costs"] = [
            {"item": cost["item"], "amount": cost["amount"], "source": DEFAULT_SOURCE}
            for cost in answers["costs"]
        ]
    return document


def to_yaml(document: dict[str, Any]) -> str:
    """The document as a scenario file (``nestmap scenario validate/run`` read it)."""
    import yaml

    body = {key: value for key, value in document.items() if key != "__file__"}
    header = "# A nestmap scenario, made with the dashboard's scenario builder.\n"
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)


def to_link(document: dict[str, Any]) -> str:
    """The document as a URL parameter value; ``InputError`` if it is too large for a link."""
    body = {key: value for key, value in document.items() if key != "__file__"}
    packed = zlib.compress(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), 9
    )
    text = base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")
    if len(text) > MAX_LINK_CHARS:
        raise InputError(
            [
                Problem(
                    LINK_FILE,
                    None,
                    None,
                    None,
                    f"this scenario is too large for a link ({len(text):,} characters, at most "
                    f"{MAX_LINK_CHARS:,}); download it as YAML and share the file",
                )
            ]
        )
    return text


def from_link(text: str) -> dict[str, Any]:
    """A document from a link's parameter: bounded, then the checks of any pasted scenario
    (``read_untrusted``: its values checked by type); ``InputError`` for anything else."""

    def refuse(reason: str) -> InputError:
        return InputError([Problem(LINK_FILE, None, None, None, reason)])

    if len(text) > MAX_LINK_CHARS:
        raise refuse(f"the link's scenario is longer than {MAX_LINK_CHARS:,} characters")
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise refuse("the link's scenario is damaged (not base64url text)") from None
    inflate = zlib.decompressobj()
    try:
        data = inflate.decompress(packed, MAX_DASHBOARD_SCENARIO_BYTES + 1)
    except zlib.error:
        raise refuse("the link's scenario is damaged (not compressed data)") from None
    if len(data) > MAX_DASHBOARD_SCENARIO_BYTES or inflate.unconsumed_tail:
        raise refuse(f"the link's scenario inflates past {size_text(MAX_DASHBOARD_SCENARIO_BYTES)}")
    return read_untrusted(LINK_FILE, data)


def answers_from_document(document: dict[str, Any]) -> dict[str, Any]:
    """The builder's answers for a document it could have made (a shared link's); raises
    ``InputError`` for parts the builder does not hold (more than one added service, changes,
    workforce), which belong in a file."""
    unsupported = [key for key in ("change_services",) if document.get(key)]
    added = document.get("add_services") or []
    if not isinstance(added, list) or len(added) > 1:
        unsupported.append("more than one add_services entry")
    elif added and (not isinstance(added[0], dict) or added[0].get("workforce")):
        unsupported.append("add_services[0].workforce")
    if unsupported:
        raise InputError(
            [
                Problem(
                    str(document.get("__file__") or LINK_FILE),
                    None,
                    part,
                    None,
                    "the builder does not hold this; paste or upload the scenario instead",
                )
                for part in unsupported
            ]
        )
    answers: dict[str, Any] = {
        "name": document.get("name") or "",
        "description": document.get("description") or "",
        "service": None,
        "retire": list(document.get("retire_services") or []),
        "add_referrals": [],
        "remove_referrals": list(document.get("remove_referrals") or []),
        "costs": [
            {"item": cost.get("item"), "amount": cost.get("amount")}
            for cost in document.get("costs") or []
            if isinstance(cost, dict)
        ],
    }
    new_id = added[0].get("id") if added else None
    referred_from = []
    reason = None
    for link in document.get("add_referrals") or []:
        if not isinstance(link, dict):
            continue
        if new_id is not None and link.get("to_service") == new_id:
            referred_from.append(link.get("from_service"))
            reason = reason or link.get("reason")
        else:
            answers["add_referrals"].append(
                {k: link.get(k) for k in ("from_service", "to_service", "reason")}
            )
    if added:
        service = dict(added[0])
        answers["service"] = {
            **{k: service.get(k) for k in service if k not in ("offers", "status")},
            "offers": [
                {"level": o.get("level"), "focus": o.get("focus")}
                for o in service.get("offers") or []
                if isinstance(o, dict)
            ],
            "referred_from": referred_from,
            "reason": reason or "parent_infant_relationship",
        }
    return answers
