"""A policy checked against the compiled contracts, and the decisions it makes."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from google.protobuf.descriptor_pool import DescriptorPool

from .document import PolicyDocument, PolicyError, Quota
from .fields import FieldSet, resolve

GATEWAY_PACKAGE = "ndx.gateway."


@dataclass(frozen=True)
class Grant:
    """What one agency may do for one purpose, with the place in the file that says so."""

    agency: str
    purpose: str
    location: str
    methods: frozenset[str]
    read: dict[str, FieldSet]
    verify: dict[str, FieldSet]
    quota: Quota | None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    rule: str
    grant: Grant | None = None
    # Machine-readable reason of a denial (the ErrorInfo reason callers see).
    code: str = "GRANTED"


@dataclass(frozen=True)
class RegistryRule:
    name: str
    service: str
    resource: str
    owner: str
    writes: frozenset[str]
    verifies: frozenset[str]


@dataclass
class Policy:
    version: str
    registries: dict[str, RegistryRule]  # by service full name
    grants: dict[tuple[str, str], Grant] = field(default_factory=dict)
    # Agency name -> description, and (agency, purpose) -> purpose description.
    agencies: dict[str, str] = field(default_factory=dict)
    purposes: dict[tuple[str, str], str] = field(default_factory=dict)

    @cached_property
    def resources(self) -> frozenset[str]:
        return frozenset(r.resource for r in self.registries.values())

    def registry_of(self, method: str) -> RegistryRule | None:
        return self.registries.get(method.partition("/")[0])

    def decide(self, agency: str, purpose: str, method: str) -> Decision:
        """Default deny: the call needs a grant of this agency, for this purpose, naming it."""
        if self.registry_of(method) is None and not served_by_gateway(method):
            return Decision(False, f"no registry serves {method}", "registries", code="NO_ROUTE")
        if agency not in self.agencies:
            return Decision(
                False, f"agency {agency!r} is not in the policy", "agencies", code="UNKNOWN_AGENCY"
            )
        grant = self.grants.get((agency, purpose))
        if grant is None:
            return Decision(
                False,
                f"agency {agency!r} has no purpose {purpose!r}",
                f"agencies.{agency}.purposes",
                code="UNKNOWN_PURPOSE",
            )
        if method not in grant.methods:
            return Decision(
                False,
                f"purpose {purpose!r} does not grant {method}",
                grant.location,
                grant,
                code="METHOD_NOT_GRANTED",
            )
        return Decision(True, f"granted by purpose {purpose!r}", grant.location, grant)

    def readable(self, grant: Grant, resource: str) -> FieldSet:
        return grant.read.get(resource, FieldSet())

    def claimable(self, grant: Grant, resource: str, path: list[str]) -> bool:
        """Whether the agency may make a claim about `path`: readable or verify-only."""
        return self.readable(grant, resource).grants(path) or grant.verify.get(
            resource, FieldSet()
        ).grants(path)


def compile_policy(document: PolicyDocument, pool: DescriptorPool) -> Policy:
    """Checks every method and field path against the contracts; PolicyError lists each
    problem with its place in the file."""
    problems: list[str] = []
    registries: dict[str, RegistryRule] = {}
    for name, r in document.registries.items():
        at = f"registries.{name}"
        try:
            service = pool.FindServiceByName(r.service)
        except KeyError:
            problems.append(f"{at}.service: unknown service {r.service!r}")
            continue
        try:
            pool.FindMessageTypeByName(r.resource)
        except KeyError:
            problems.append(f"{at}.resource: unknown message {r.resource!r}")
        if r.owner not in document.agencies:
            problems.append(f"{at}.owner: unknown agency {r.owner!r}")
        for kind, listed in (("writes", r.writes), ("verifies", r.verifies)):
            for i, m in enumerate(listed):
                if m not in service.methods_by_name:
                    problems.append(f"{at}.{kind}[{i}]: {r.service} has no method {m!r}")
        registries[r.service] = RegistryRule(
            name,
            r.service,
            r.resource,
            r.owner,
            frozenset(f"{r.service}/{m}" for m in r.writes),
            frozenset(f"{r.service}/{m}" for m in r.verifies),
        )
    resources = {r.resource for r in registries.values()}
    policy = Policy(document.version, registries)
    for agency, a in document.agencies.items():
        policy.agencies[agency] = a.description
        for purpose, p in a.purposes.items():
            at = f"agencies.{agency}.purposes.{purpose}"
            policy.purposes[(agency, purpose)] = p.description
            methods: set[str] = set()
            for i, m in enumerate(p.methods):
                methods |= _methods(pool, m, f"{at}.methods[{i}]", problems)
            for m in sorted(methods):
                registry = registries.get(m.partition("/")[0])
                if registry is None and served_by_gateway(m):
                    continue
                if registry is None:
                    problems.append(f"{at}.methods: {m} is not served by any registry")
                elif m in registry.writes and registry.owner != agency:
                    problems.append(
                        f"{at}.methods: {m} writes; only the owner {registry.owner!r} may"
                    )
            read = _field_sets(pool, p.read, f"{at}.read", resources, problems)
            verify = _field_sets(pool, p.verify, f"{at}.verify", resources, problems)
            policy.grants[(agency, purpose)] = Grant(
                agency, purpose, at, frozenset(methods), read, verify, p.quota
            )
    if problems:
        raise PolicyError(problems)
    return policy


def served_by_gateway(method: str) -> bool:
    """The gateway's own APIs (the data tracker) are granted like registry methods."""
    return method.startswith(GATEWAY_PACKAGE)


def _methods(pool: DescriptorPool, spec: str, at: str, problems: list[str]) -> set[str]:
    service_name, _, method = spec.partition("/")
    try:
        service = pool.FindServiceByName(service_name)
    except KeyError:
        problems.append(f"{at}: unknown service {service_name!r}")
        return set()
    if method == "*":
        return {f"{service_name}/{m.name}" for m in service.methods}
    if method not in service.methods_by_name:
        problems.append(f"{at}: {service_name} has no method {method!r}")
        return set()
    return {spec}


def _field_sets(
    pool: DescriptorPool, paths: list[str], at: str, resources: set[str], problems: list[str]
) -> dict[str, FieldSet]:
    sets: dict[str, FieldSet] = {}
    for i, path in enumerate(paths):
        try:
            root, names = resolve(pool, path)
        except ValueError as e:
            problems.append(f"{at}[{i}]: {e}")
            continue
        if root.full_name not in resources:
            problems.append(f"{at}[{i}]: {root.full_name} is not a registry resource")
            continue
        sets.setdefault(root.full_name, FieldSet()).add(names)
    return sets
