"""The /verify page's verdicts in the reader's language: the offline verifier (``verify``, pure and English for the
command line) returns each check with a code and its values, worded here with Flask-Babel. The technical details it
quotes (a parser's or a library's own words) stay as they are, except the few fixed ones translated below."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from .verify import Check


def check_label(name: str) -> str:
    """The name of a check as the page shows it."""
    labels = {"signature": _("Signature"), "key": _("Signing key"), "revocation": _("Revocation"), "log": _("Transparency log")}
    return labels.get(name, name)


def _detail(text: str) -> str:
    """A technical detail in the reader's language when it is one of the fixed ones, as written otherwise."""
    known = {
        "the signature does not match: the credential or its proof was altered, or another key signed it": _(
            "the signature does not match: the credential or its proof was altered, or another key signed it"
        ),
        "the proof has no verificationMethod": _("the proof has no verificationMethod"),
        "the receipt is not a JSON object": _("the receipt is not a JSON object"),
        "the receipt names no log key": _("the receipt names no log key"),
        "no key history was given to vouch for it": _("no key history was given to vouch for it"),
    }
    return known.get(text, text)


def _reasons(params: dict[str, Any]) -> str:
    return "; ".join(_detail(reason) for reason in params.get("reasons", []))


def _key_vouched(p: dict[str, Any]) -> str:
    if p.get("end"):
        return _(
            "The signing key is listed in the key history for signing credentials, is not revoked, and was in service when the "
            "credential was issued on %(issued)s (its period of service runs from %(start)s until %(end)s).",
            issued=p["issued"],
            start=p["start"],
            end=p["end"],
        )
    return _(
        "The signing key is listed in the key history for signing credentials, is not revoked, and was in service when the "
        "credential was issued on %(issued)s (its period of service runs from %(start)s with no end date).",
        issued=p["issued"],
        start=p["start"],
    )


def _log_included(p: dict[str, Any]) -> str:
    if p.get("vouched"):
        return ngettext(
            "The credential is entry %(index)s of govflow's transparency log; the log head of %(num)s entry that includes it "
            "was signed by a log key listed in the key history on %(signed)s.",
            "The credential is entry %(index)s of govflow's transparency log; the log head of %(num)s entries that includes it "
            "was signed by a log key listed in the key history on %(signed)s.",
            p["size"],
            index=p["index"],
            signed=p["signed"],
        )
    return ngettext(
        "The credential is entry %(index)s of govflow's transparency log; the log head of %(num)s entry that includes it was signed on %(signed)s.",
        "The credential is entry %(index)s of govflow's transparency log; the log head of %(num)s entries that includes it was signed on %(signed)s.",
        p["size"],
        index=p["index"],
        signed=p["signed"],
    )


_SENTENCES: dict[str, Callable[[dict[str, Any]], str]] = {
    "signature_failed": lambda p: _("The signature check failed: %(reasons)s.", reasons=_reasons(p)),
    "signature_valid": lambda p: _("The signature is valid: the credential is exactly as %(signer)s signed it.", signer=p["signer"]),
    "not_object": lambda p: _("The credential is not a JSON object, so it cannot be a credential."),
    "skipped_not_object": lambda p: _("Not checked, because the credential is not a JSON object."),
    "key_unchecked": lambda p: _(
        "No key history was given, so the signing key was taken from the did:key in the credential alone; "
        "whether it was in service when the credential was issued, and never revoked, was not checked."
    ),
    "key_no_did": lambda p: _("The credential's proof names no usable did:key, so its key cannot be looked up in the key history."),
    "key_not_vouched": lambda p: _("The signing key is not vouched for: %(detail)s.", detail=_detail(p["detail"])),
    "key_vouched": _key_vouched,
    "revocation_unchecked": lambda p: _("No status list was given, so whether the issuer has revoked the credential was not checked."),
    "status_list_not_object": lambda p: _("The status list is not a JSON object."),
    "status_list_signature": lambda p: _("The status list's own signature is not valid, so it cannot be trusted: %(reasons)s.", reasons=_reasons(p)),
    "status_list_foreign": lambda p: _(
        "The status list was issued by %(list_issuer)s, not by the credential's issuer %(credential_issuer)s, and %(detail)s.",
        list_issuer=p["list_issuer"],
        credential_issuer=p["credential_issuer"],
        detail=_detail(p["detail"]),
    ),
    "status_list_unusable": lambda p: _("The status list cannot be used: %(detail)s.", detail=_detail(p["detail"])),
    "no_credential_status": lambda p: _("The credential has no credentialStatus, so it cannot be revoked through a status list."),
    "no_revocation_entry": lambda p: _("The credential has no revocation entry in its credentialStatus, so it cannot be revoked through a status list."),
    "revoked": lambda p: _("The issuer has revoked this credential: entry %(index)s of the status list %(list)s is set.", index=p["index"], list=p["list"]),
    "not_revoked": lambda p: _("The credential has not been revoked: entry %(index)s of the status list %(list)s is clear.", index=p["index"], list=p["list"]),
    "log_unchecked": lambda p: _("No log receipt was given, so whether the credential was published in govflow's transparency log was not checked."),
    "log_promise": lambda p: _(
        "The log signed on %(received)s its promise to include this credential; its inclusion proof is not ready yet "
        "(the log integrates entries within seconds): download the receipt again to check it.",
        received=p["received"],
    ),
    "log_head_untrusted": lambda p: _("The log's signed tree head cannot be trusted: %(detail)s.", detail=_detail(p["detail"])),
    "log_not_included": lambda p: _("The credential is not in the log where the receipt says: %(detail)s.", detail=_detail(p["detail"])),
    "log_not_canonical": lambda p: _("The credential cannot be canonicalised to compute its log entry: %(detail)s.", detail=_detail(p["detail"])),
    "receipt_unusable": lambda p: _("The receipt cannot be used: %(detail)s.", detail=_detail(p["detail"])),
    "log_included": _log_included,
}


def check_message(check: Check) -> str:
    """A check's sentence in the reader's language (the verifier's English one when its code is unknown here)."""
    sentence = _SENTENCES.get(check.code)
    if sentence is None:
        return check.message
    try:
        return sentence(check.params)
    except (KeyError, TypeError):
        return check.message
