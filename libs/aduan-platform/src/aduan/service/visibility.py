"""Who may see and act on which complaints, by the office holding them: one policy for every
service (docs/architecture.md, rule 7). Transport-free: servicers call it with the caller's
`Principal` and the office registry, and map `PermissionDeniedError` to PERMISSION_DENIED.

The rule (the data behind it: `oversight` in aduan/data/offices.yaml, `Oversight`):

- auditors, administrators and Aduan's own services read everything, sealed cases included
  (administrators read like auditors);
- an officer or supervisor sees a complaint when their office is the holding office or an office
  above it (a Kanwil sees its Kantahs, the triage desk every office), and nothing when their
  token names no office; every other role sees nothing;
- a supervisor of an overseeing Pusat unit (`Oversight.overseers`: every Pusat unit but the
  Inspectorate) also sees every other office's complaints, except sealed ones;
- a sealed case (held by the Inspectorate, confidential, or of a sealed category such as illegal
  levies) is seen only by its holding chain and by the roles that read everything. The
  Inspectorate therefore sees its own cases and any it is given, and no Pusat unit outside the
  chain sees them;
- the Inspectorate is independent (`Oversight.inspectorate_independent`): the chain of a case
  it holds is the Inspectorate alone (`Oversight.seen_by`), so the triage desk, above every
  other office, does not see what the Inspectorate holds either;
- an officer acts only on cases their own office holds; a supervisor acts on every case they see
  (not auditors, administrators or services, who only read).

What "above" means differs between the two services today, and each keeps its own meaning:

- Routing (`may_see_case`, `may_act`) asks the registry as it stands (`OfficeRegistry.chain`):
  a case held by an office the registry no longer holds has nothing above it (only its own
  office and overseers see it), and a case with no holding office is seen only by callers who
  see every office.
- Query (`may_see_complaint`, `office_filter`, `sealed_scope`) asks the chain its read models
  file the case under (`OfficeRegistry.holding_chain`), which also places codes the registry
  does not hold: the Kanwil of a province without a Kanwil of its own counts as above that
  province's Kantahs alongside the Kanwil serving it, and an office removed from the data is
  still under its Kanwil. A complaint with no holding office counts as held by the triage desk.
  Lists, watches and statistics of overseers skip the office filter and exclude sealed cases
  outside the overseer's chain instead (`sealed_scope`; the SQL lives in query's views); those
  of the offices above the independent Inspectorate (the triage desk) keep their office filter
  and exclude what the Inspectorate holds the same way.

For offices the registry holds the two agree (libs/aduan-platform/tests/test_visibility.py checks
every office); they differ only for codes outside the registry, as listed above.
"""

from __future__ import annotations

from dataclasses import dataclass

from aduan.core.errors import PermissionDeniedError
from aduan.reference.offices import OfficeRegistry, Oversight
from aduan.service.auth import ADMIN, AUDITOR, OFFICER, SERVICE, SUPERVISOR, Principal

# Roles that read every complaint, sealed ones included, whatever office their token names.
READ_EVERYTHING = frozenset({AUDITOR, ADMIN, SERVICE})
# Roles limited to their office and the offices below it.
OFFICE_ROLES = frozenset({OFFICER, SUPERVISOR})


def oversees_all(principal: Principal, registry: OfficeRegistry) -> bool:
    """A supervisor of a Pusat unit that oversees every office (sealed cases aside)."""
    return principal.role == SUPERVISOR and principal.office in registry.oversight.overseers


def sees_everything(principal: Principal, registry: OfficeRegistry) -> bool:
    """Which offices `principal` may see: every office when this is true (sealed cases outside
    their chain aside, unless they read everything), otherwise their own office and the offices
    below it (none when the token names no office)."""
    return principal.role in READ_EVERYTHING or oversees_all(principal, registry)


def may_see(
    principal: Principal,
    oversight: Oversight,
    holder: str,
    chain: tuple[str, ...],
    category: str,
    confidential: bool,
) -> bool:
    """Whether `principal` may see a complaint held by `holder`, whose holding office and the
    offices above it are `chain` (nearest first), of `category`, confidential or not."""
    if principal.role in READ_EVERYTHING:
        return True
    if principal.role not in OFFICE_ROLES or not principal.office:
        return False
    if principal.office in oversight.seen_by(holder, chain):
        return True
    return (
        principal.role == SUPERVISOR
        and principal.office in oversight.overseers
        and not oversight.is_sealed(holder, category, confidential)
    )


def may_see_case(
    principal: Principal,
    holder: str,
    registry: OfficeRegistry,
    *,
    category: str,
    confidential: bool,
) -> bool:
    """Routing: whether `principal` may read the case `holder` holds, by the registry as it
    stands."""
    return may_see(
        principal, registry.oversight, holder, registry.chain(holder), category, confidential
    )


def may_see_complaint(
    principal: Principal,
    holder: str,
    registry: OfficeRegistry,
    *,
    category: str,
    confidential: bool,
) -> bool:
    """Query: whether `principal` may see the complaint `holder` holds, by the chain the read
    models file it under; no holder counts as the triage desk."""
    chain = registry.holding_chain(holder or registry.triage_code)
    return may_see(principal, registry.oversight, holder, chain, category, confidential)


def in_holding_chain(principal: Principal, holder: str, registry: OfficeRegistry) -> bool:
    """Whether `principal`'s office is the holding office of a case `holder` holds or an office
    above it, by the registry as it stands (the independent inspectorate's chain is itself),
    whatever their role: for rules that admit a holding chain only, never an overseer."""
    chain = registry.oversight.seen_by(holder, registry.chain(holder))
    return bool(principal.office) and principal.office in chain


def may_act(
    principal: Principal,
    holder: str,
    registry: OfficeRegistry,
    *,
    category: str,
    confidential: bool,
) -> bool:
    """Routing: whether `principal` may work the case `holder` holds (classify, accept,
    reassign, respond, resolve, reopen, close)."""
    if not principal.office:
        return False
    if principal.role == OFFICER:
        return principal.office == holder
    if principal.role == SUPERVISOR:
        return may_see_case(
            principal, holder, registry, category=category, confidential=confidential
        )
    return False


@dataclass(frozen=True)
class SealedScope:
    """Query: for a caller whose office filter does not exclude every sealed case they may not
    see (an overseer, who sees every office; the triage desk, whose queue holds what the
    independent inspectorate holds), what seals a case and the office whose chain a sealed case
    must lie in."""

    office: str
    oversight: Oversight


def sealed_scope(principal: Principal, registry: OfficeRegistry) -> SealedScope | None:
    """Query's lists, watches and statistics: the sealed cases to leave out for a caller who
    does not read everything but whose office filter would let them through: an overseer,
    whose office filter is skipped (`sees_everything`), or an office above the independent
    inspectorate, under whose queue its cases are filed. None when the office filter (or
    reading everything) already decides."""
    if principal.role in READ_EVERYTHING or principal.role not in OFFICE_ROLES:
        return None
    if oversees_all(principal, registry) or _above_independent(principal.office, registry):
        return SealedScope(principal.office, registry.oversight)
    return None


def _above_independent(office: str, registry: OfficeRegistry) -> bool:
    """Whether query files the independent inspectorate's cases under `office`'s queue."""
    oversight = registry.oversight
    if not office or not oversight.is_independent(oversight.inspectorate):
        return False
    return office in registry.holding_chain(oversight.inspectorate)[1:]


def office_filter(
    principal: Principal, office: str, field_name: str, registry: OfficeRegistry
) -> str:
    """Query: the office a request's office filter (`field_name`, for the error) resolves to.
    Callers who see every office keep what they asked (empty: every office); others get their
    own office when they asked none, and PERMISSION_DENIED for an office outside what they
    see."""
    if sees_everything(principal, registry):
        return office
    if principal.role not in OFFICE_ROLES:
        # No RPC admits other roles to an office filter today; refuse rather than guess.
        raise PermissionDeniedError(f"{principal.sub}: a {principal.role} sees no complaints")
    if not principal.office:
        raise PermissionDeniedError(f"{principal.sub}: the token names no office")
    if not office:
        return principal.office
    if principal.office not in registry.oversight.seen_by(office, registry.holding_chain(office)):
        raise PermissionDeniedError(
            f"{field_name}: {principal.sub} may not see the complaints of {office}"
        )
    return office
