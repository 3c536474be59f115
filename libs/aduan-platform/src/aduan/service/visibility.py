"""Who may see and act on which complaints, by the office holding them: one policy for every
service (docs/architecture.md, rule 7). Transport-free: servicers call it with the caller's
`Principal` and the office registry, and map `PermissionDeniedError` to PERMISSION_DENIED.

The rule:

- auditors, administrators and Aduan's own services see everything; so does a supervisor of any
  Pusat office (`PUSAT.*`);
- otherwise an officer or supervisor sees a complaint when their office is the holding office or
  an office above it (a Kanwil sees its Kantahs, the triage desk every office), and nothing when
  their token names no office; every other role sees nothing;
- an officer acts only on cases their own office holds; a supervisor acts on every case they see
  (not auditors, administrators or services, who only read).

What "above" means differs between the two services today, and each keeps its own meaning:

- Routing (`may_see_case`, `may_act`) asks the registry as it stands (`OfficeRegistry.chain`):
  a case held by an office the registry no longer holds has nothing above it (only its own
  office and Pusat supervisors see it), and a case with no holding office is seen only by
  everyone-seeing callers.
- Query (`may_see_complaint`, `office_filter`) asks the chain its read models file the case
  under (`OfficeRegistry.holding_chain`), which also places codes the registry does not hold:
  the Kanwil of a province without a Kanwil of its own counts as above that province's Kantahs
  alongside the Kanwil serving it, and an office removed from the data is still under its
  Kanwil. A complaint with no holding office counts as held by the triage desk.

For offices the registry holds the two agree (libs/aduan-platform/tests/test_visibility.py checks
every office); they differ only for codes outside the registry, as listed above.
"""

from __future__ import annotations

from aduan.core.errors import PermissionDeniedError
from aduan.reference.offices import OfficeLevel, OfficeRegistry
from aduan.service.auth import ADMIN, AUDITOR, OFFICER, SERVICE, SUPERVISOR, Principal

# Roles that read every complaint, whatever office their token names.
READ_EVERYTHING = frozenset({AUDITOR, ADMIN, SERVICE})
# Roles limited to their office and the offices below it.
OFFICE_ROLES = frozenset({OFFICER, SUPERVISOR})


def is_pusat(office_code: str) -> bool:
    """A Pusat office by its code; an unknown `PUSAT.*` code counts, as it always has."""
    return office_code.startswith(f"{OfficeLevel.PUSAT}.")


def sees_everything(principal: Principal) -> bool:
    """Which offices `principal` may see: every office when this is true, otherwise their own
    office and the offices below it (none when the token names no office)."""
    return principal.role in READ_EVERYTHING or (
        principal.role == SUPERVISOR and is_pusat(principal.office)
    )


def may_see(principal: Principal, chain: tuple[str, ...]) -> bool:
    """Whether `principal` may see a complaint whose holding office and the offices above it are
    `chain` (nearest first)."""
    if sees_everything(principal):
        return True
    return principal.role in OFFICE_ROLES and bool(principal.office) and principal.office in chain


def may_see_case(principal: Principal, holder: str, registry: OfficeRegistry) -> bool:
    """Routing: whether `principal` may read the case `holder` holds, by the registry as it
    stands."""
    return may_see(principal, registry.chain(holder))


def may_see_complaint(principal: Principal, holder: str, registry: OfficeRegistry) -> bool:
    """Query: whether `principal` may see the complaint `holder` holds, by the chain the read
    models file it under; no holder counts as the triage desk."""
    return may_see(principal, registry.holding_chain(holder or registry.triage_code))


def may_act(principal: Principal, holder: str, registry: OfficeRegistry) -> bool:
    """Routing: whether `principal` may work the case `holder` holds (classify, accept,
    reassign, respond, resolve, reopen, close)."""
    if not principal.office:
        return False
    if principal.role == OFFICER:
        return principal.office == holder
    if principal.role == SUPERVISOR:
        return is_pusat(principal.office) or principal.office in registry.chain(holder)
    return False


def office_filter(
    principal: Principal, office: str, field_name: str, registry: OfficeRegistry
) -> str:
    """Query: the office a request's office filter (`field_name`, for the error) resolves to.
    Everyone-seeing callers keep what they asked (empty: every office); others get their own
    office when they asked none, and PERMISSION_DENIED for an office outside what they see."""
    if sees_everything(principal):
        return office
    if principal.role not in OFFICE_ROLES:
        # No RPC admits other roles to an office filter today; refuse rather than guess.
        raise PermissionDeniedError(f"{principal.sub}: a {principal.role} sees no complaints")
    if not principal.office:
        raise PermissionDeniedError(f"{principal.sub}: the token names no office")
    if not office:
        return principal.office
    if principal.office not in registry.holding_chain(office):
        raise PermissionDeniedError(
            f"{field_name}: {principal.sub} may not see the complaints of {office}"
        )
    return office
