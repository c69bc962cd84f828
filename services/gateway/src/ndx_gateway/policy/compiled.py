"""A policy checked against the compiled contracts, and the decisions it makes."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.descriptor_pool import DescriptorPool

from .document import PolicyDocument, PolicyError, Quota, Registry
from .fields import FieldSet, resolve

GATEWAY_PACKAGE = "ndx.gateway."
# The change feeds; a purpose with `feeds` is granted it.
FEED_METHOD = "ndx.gateway.v1.FeedService/Subscribe"


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
    feeds: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    rule: str
    grant: Grant | None = None
    # Machine-readable reason of a denial (the ErrorInfo reason callers see).
    code: str = "GRANTED"


@dataclass(frozen=True)
class Feed:
    """The change events of a registry's aggregate, as agencies may follow them."""

    aggregate: str  # "citizen"
    resource: str  # "ndx.population.v1.Citizen"
    event: str  # "ndx.population.v1.CitizenChanged"
    key: str  # the event's field holding the entity id, also a field of the resource


@dataclass(frozen=True)
class RegistryRule:
    name: str
    service: str
    resource: str
    owner: str
    writes: frozenset[str]
    verifies: frozenset[str]
    feed: Feed | None = None


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

    @cached_property
    def feeds(self) -> dict[str, Feed]:
        """The followable aggregates by name."""
        return {r.feed.aggregate: r.feed for r in self.registries.values() if r.feed}

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

    def decide_feed(self, agency: str, purpose: str, aggregate: str) -> Decision:
        """Default deny: following a feed needs a purpose that lists the aggregate in `feeds`."""
        decision = self.decide(agency, purpose, FEED_METHOD)
        grant = decision.grant
        if grant is None:
            return decision  # unknown agency or purpose
        rule = f"{grant.location}.feeds"
        if aggregate not in grant.feeds:
            others = f" (it follows: {', '.join(sorted(grant.feeds))})" if grant.feeds else ""
            return Decision(
                False,
                f"purpose {purpose!r} grants no feed of {aggregate!r}{others}",
                rule,
                grant,
                code="FEED_NOT_GRANTED",
            )
        return Decision(True, f"feed of {aggregate!r} granted by purpose {purpose!r}", rule, grant)

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
            _feed(pool, r, at, problems),
        )
    resources = {r.resource for r in registries.values()}
    feeds: dict[str, Feed] = {}
    for rule in registries.values():
        if rule.feed is not None:
            if rule.feed.aggregate in feeds:
                problems.append(
                    f"registries.{rule.name}.aggregate: {rule.feed.aggregate!r} is named twice"
                )
            feeds[rule.feed.aggregate] = rule.feed
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
            _check_verify_only(p.verify, read, f"{at}.verify", pool, problems)
            _check_feeds(p.feeds, feeds, read, at, problems)
            if p.feeds:
                methods.add(FEED_METHOD)
            policy.grants[(agency, purpose)] = Grant(
                agency, purpose, at, frozenset(methods), read, verify, p.quota, frozenset(p.feeds)
            )
    if problems:
        raise PolicyError(problems)
    return policy


def _check_verify_only(
    paths: list[str], read: dict[str, FieldSet], at: str, pool: DescriptorPool, problems: list[str]
) -> None:
    """A verify-only field that the same purpose may also read says two things at once."""
    for i, path in enumerate(paths):
        try:
            root, names = resolve(pool, path)
        except ValueError:
            continue  # reported with the verify list
        readable = read.get(root.full_name)
        if readable is not None and names and readable.grants(names):
            problems.append(f"{at}[{i}]: {path} is also granted by read; verify-only or read")


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


def _feed(pool: DescriptorPool, r: Registry, at: str, problems: list[str]) -> Feed | None:
    """The registry's feed, when it names one; its event must carry the resource before and
    after the change, and the entity id."""
    if r.aggregate is None and r.event is None:
        return None
    if r.aggregate is None or r.event is None:
        problems.append(f"{at}: a feed needs both `aggregate` and `event`")
        return None
    try:
        event = pool.FindMessageTypeByName(r.event)
    except KeyError:
        problems.append(f"{at}.event: unknown message {r.event!r}")
        return None
    if not all(_holds(event, side, r.resource) for side in ("before", "after")):
        problems.append(
            f"{at}.event: {r.event} is not a change event of {r.resource} "
            f"(fields `before` and `after` of that type)"
        )
        return None
    resource_fields = set(pool.FindMessageTypeByName(r.resource).fields_by_name)
    key = next(
        (
            fd.name
            for fd in event.fields
            if fd.type == FieldDescriptor.TYPE_STRING and fd.name in resource_fields
        ),
        None,
    )
    if key is None:
        problems.append(f"{at}.event: {r.event} has no string field naming the entity")
        return None
    return Feed(r.aggregate, r.resource, r.event, key)


def _holds(event: Descriptor, name: str, resource: str) -> bool:
    fd = event.fields_by_name.get(name)
    return fd is not None and fd.message_type is not None and fd.message_type.full_name == resource


def _check_feeds(
    wanted: list[str],
    feeds: dict[str, Feed],
    read: dict[str, FieldSet],
    at: str,
    problems: list[str],
) -> None:
    """A purpose follows only known aggregates, and reads at least their entity ids (events
    are keyed by them)."""
    for i, aggregate in enumerate(wanted):
        feed = feeds.get(aggregate)
        if feed is None:
            known = ", ".join(sorted(feeds)) or "none"
            problems.append(f"{at}.feeds[{i}]: unknown aggregate {aggregate!r} (known: {known})")
        elif not read.get(feed.resource, FieldSet()).grants([feed.key]):
            problems.append(
                f"{at}.feeds[{i}]: a feed of {aggregate} needs {feed.resource}.{feed.key} "
                f"in read (its events name the entity by it)"
            )
