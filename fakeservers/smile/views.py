"""Smile v1 endpoints: parse the request, call the core, serialize the result.

No points rule lives here: validation of values (balances, prices, steps, caps) is the
core's, and its errors are rendered by `errors.render_error`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.wrappers import Request, Response

from fakeservers._http import (
    Lister,
    ParseError,
    TenantRegistry,
    classic_page,
    decode_cursor,
    json_object,
    json_response,
    keyset_list,
    lister_of,
    read_datetime,
    read_identifier,
    read_int,
    read_metadata,
    read_object,
    read_points,
    read_str,
)
from fakeservers.smile import schemas
from fakeservers.smile.backend import SmileBackend
from fakeservers.smile.errors import (
    INVALID_CREDENTIALS,
    NOT_AVAILABLE_TO_PUBLIC_APPS,
    SmileError,
)
from fakeservers.smile.events import TOPICS, apply_event
from fakeservers.smile.urls import PUBLIC_APP_FORBIDDEN
from loyaltykit import (
    FulfillmentNotFound,
    FulfillmentStatus,
    InvalidArgument,
    Member,
    MemberNotFound,
    MemberState,
    PriceKind,
    Program,
    RewardOffer,
    TxnKind,
    TxnStatus,
    UsageStatus,
)
from loyaltykit.limits import MAX_CODE
from loyaltykit.queries import MAX_OFFSET

__all__ = ["PUBLIC_APP", "SmileViews"]

T = TypeVar("T")
Args = MultiDict[str, str]
PUBLIC_APP = "public_app"
MAX_LIMIT = 250
DEFAULT_LIMIT = 50
CUSTOMER_INCLUDES = ("vip_tier", "vip_status", "vip_status.vip_tier", "vip_status.next_vip_tier")
VIP_TIER_INCLUDES = ("perks", "entry_rewards")
PURCHASE_NOT_FOUND = "Points purchase not found."
REDEMPTION = "redemption"
"""The core's `Fulfillment.source` of a points purchase (other sources: grants, referrals)."""


def api(view: Callable[..., Response]) -> Callable[..., Response]:
    """Authenticate (Bearer key -> tenant), rate-limit, check public-app access, then call
    `view(self, request, backend, **values)`."""
    endpoint = view.__name__.removeprefix("on_")

    @functools.wraps(view)
    def wrapper(self: SmileViews, request: Request, **values: Any) -> Response:
        return view(self, request, self.authenticate(request, endpoint), **values)

    return wrapper


class wire_fields:  # lower case: used as contextlib's context managers are
    """Rename the core's argument names in its errors to the wire's (points -> points_to_spend).

    A class rather than a `@contextmanager` generator: it is on every write's path, and
    entering and leaving costs a fraction of a generator's set-up."""

    __slots__ = ("names",)

    def __init__(self, **names: str) -> None:
        self.names = names

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if not isinstance(exc, InvalidArgument):
            return  # nothing raised, or not the core's argument error: unchanged
        wire = self.names.get(exc.field)
        if wire is None:
            return
        message = re.sub(rf"^{re.escape(exc.field)}\b", wire, exc.message)
        raise ParseError(wire, "invalid", message) from None


_NO_ARGS: Args = ImmutableMultiDict()
"""What `request.args` is for an empty query string (shared: it cannot be changed)."""


def query(request: Request) -> Args:
    """Query parameters, plus a form-encoded body: the docs' `curl -X GET -d "limit=2"`
    sends its parameters that way."""
    environ = request.environ
    if not environ.get("CONTENT_TYPE"):  # no content type, no form: no form parser needed
        return request.args if environ.get("QUERY_STRING") else _NO_ARGS
    if not request.form:
        return request.args
    merged = MultiDict(request.form)
    merged.update(request.args)
    return merged


def _includes(args: Args, allowed: Sequence[str]) -> set[str]:
    if "include" not in args:
        return set()
    raw = read_str(args, "include") or ""
    wanted = {part.strip() for part in raw.split(",") if part.strip()}
    unknown = wanted - set(allowed)
    if unknown:
        raise ParseError("include", "invalid", "include must be one of " + ", ".join(allowed))
    return wanted


def _listing(
    args: Args,
    name: str,
    lister: Lister[T],
    key: Callable[[T], int],
    serialize: Callable[[T], dict[str, Any]],
    *,
    classic: bool = True,
) -> Response:
    """Cursor pagination (newest first, with metadata), or the deprecated page/page_size
    (oldest first); `lister` is asked for just the page (see `fakeservers._http.pagination`)."""
    limit = read_int(args, "limit", minimum=1, maximum=MAX_LIMIT)
    token = read_str(args, "cursor")
    page = read_int(args, "page", minimum=1)
    page_size = read_int(args, "page_size", minimum=1, maximum=MAX_LIMIT)
    if classic and token is None and limit is None and (page or page_size):
        size = page_size or DEFAULT_LIMIT
        offset = ((page or 1) - 1) * size
        chosen = (
            lister(newest_first=False, after_id=None, before_id=None, offset=offset, limit=size)
            if offset <= MAX_OFFSET
            else []  # further than any history held in memory: past the last page
        )
        return json_response({name: [serialize(r) for r in chosen]})
    cursor = decode_cursor(token) if token is not None else None
    found = keyset_list(lister, key, limit=limit or DEFAULT_LIMIT, cursor=cursor)
    return json_response(
        {
            name: [serialize(r) for r in found.items],
            "metadata": {
                "next_cursor": found.next_cursor,
                "previous_cursor": found.previous_cursor,
            },
        }
    )


def _member_id(member: Member) -> int:
    return member.id


def _record_id(record: Any) -> int:
    ident: int = record.id
    return ident


def _for_customer(program: Program, customer_id: int | None, lister: Lister[T]) -> Lister[T]:
    """`lister`, or nothing at all for an unknown customer (a filter, not a lookup: 200)."""
    if customer_id is not None:
        try:
            program.member(customer_id)
        except MemberNotFound:
            return lister_of([], _record_id)
    return lister


def _offers(program: Program) -> dict[int, RewardOffer]:
    return {offer.id: offer for offer in program.offers()}


def _is_product(offer: RewardOffer) -> bool:
    """Offers flagged `points_product: False` (e.g. referral rewards) are not for sale."""
    return offer.metadata.get("points_product", True) is not False


class SmileViews:
    """One `on_<endpoint>` per route of `urls.API_RULES`."""

    def __init__(self, registry: TenantRegistry[SmileBackend]) -> None:
        self.registry = registry

    def authenticate(self, request: Request, endpoint: str) -> SmileBackend:
        # request.headers.get("Authorization", ""), without building the headers view
        scheme, _, key = request.environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        key = key.strip()
        found = self.registry.authenticate(key) if scheme.lower() == "bearer" and key else None
        if found is None:
            raise SmileError(401, INVALID_CREDENTIALS)
        tenant, kind = found
        self.registry.throttle(tenant, key)
        if kind == PUBLIC_APP and endpoint in PUBLIC_APP_FORBIDDEN:
            raise SmileError(401, NOT_AVAILABLE_TO_PUBLIC_APPS)
        return tenant.program

    # -- customers ------------------------------------------------------------------

    @api
    def on_customers_list(self, request: Request, backend: SmileBackend) -> Response:
        args = query(request)
        include = _includes(args, CUSTOMER_INCLUDES)
        email = read_str(args, "email")
        state = read_str(args, "state", choices=[s.value for s in MemberState])
        updated_min = read_datetime(args, "updated_at_min", blank_ok=False)
        program = backend.program
        lister: Lister[Member]
        if email is None:
            lister = functools.partial(
                program.members_page,
                state=MemberState(state) if state is not None else None,
                updated_since=updated_min,
            )
        else:  # an email names one member at most
            try:
                found = [program.member_by_email(email)]
            except MemberNotFound:
                found = []
            lister = lister_of(
                [
                    m
                    for m in found
                    if (state is None or m.state == state)
                    and (updated_min is None or m.profile.updated_at >= updated_min)
                ],
                _member_id,
            )
        return _listing(
            args,
            "customers",
            lister,
            _member_id,
            lambda m: schemas.customer(program, m, include),
        )

    @api
    def on_customer_show(
        self, request: Request, backend: SmileBackend, customer_id: int
    ) -> Response:
        include = _includes(query(request), CUSTOMER_INCLUDES)
        program = backend.program
        member = program.member(customer_id)
        return json_response({"customer": schemas.customer(program, member, include)})

    @api
    def on_customer_identity_upsert(self, request: Request, backend: SmileBackend) -> Response:
        body = read_object(json_object(request), "customer_identity", required=True) or {}
        label = "customer_identity.{}".format
        distinct_id = read_str(
            body, "distinct_id", required=True, label=label("distinct_id"), max_length=MAX_CODE
        )
        email = read_str(body, "email", required=True, label=label("email"))
        assert distinct_id is not None and email is not None
        with wire_fields(email=label("email")):
            identity, created = backend.upsert_identity(
                distinct_id,
                email,
                first_name=read_str(body, "first_name", label=label("first_name")),
                last_name=read_str(body, "last_name", label=label("last_name")),
                properties=read_metadata(body, "properties", label=label("properties")) or {},
            )
        return json_response(
            {"customer_identity": schemas.customer_identity(identity)}, 201 if created else 200
        )

    # -- activities -----------------------------------------------------------------

    @api
    def on_activity_create(self, request: Request, backend: SmileBackend) -> Response:
        body = read_object(json_object(request), "activity", required=True) or {}
        label = "activity.{}".format
        program = backend.program
        customer_id = read_int(body, "customer_id", label=label("customer_id"))
        if customer_id is None:
            email = read_str(body, "customer_email", label=label("customer_email"))
            if email is None:
                raise ParseError(
                    label("customer_id"), "missing", "activity.customer_id is required"
                )
            customer_id = program.member_by_email(email).id
        token = read_str(body, "token", required=True, label=label("token"), max_length=MAX_CODE)
        distinct_id = read_identifier(body, "distinct_id", label=label("distinct_id"))
        assert token is not None
        activity, created = backend.record_activity(
            customer_id,
            token,
            properties=read_metadata(body, "properties", label=label("properties")) or {},
            distinct_id=distinct_id,
            created_on_origin_at=read_datetime(
                body, "created_on_origin_at", label=label("created_on_origin_at")
            ),
            updated_on_origin_at=read_datetime(
                body, "updated_on_origin_at", label=label("updated_on_origin_at")
            ),
        )
        return json_response({"activity": schemas.activity(activity)}, 201 if created else 200)

    # -- points products and purchases ----------------------------------------------

    def _product(self, program: Program, product_id: int) -> RewardOffer:
        offer = program.offer(product_id)
        if not _is_product(offer):
            raise SmileError(404, "Points product not found.")
        return offer

    @api
    def on_points_products_list(self, request: Request, backend: SmileBackend) -> Response:
        args = query(request)
        exchange_type = read_str(args, "exchange_type", choices=[k.value for k in PriceKind])
        page = read_int(args, "page", minimum=1) or 1
        page_size = read_int(args, "page_size", minimum=1, maximum=MAX_LIMIT) or DEFAULT_LIMIT
        offers = sorted(
            (
                o
                for o in backend.program.offers()
                if o.active
                and _is_product(o)
                and (exchange_type is None or o.price_kind == exchange_type)
            ),
            key=lambda o: o.id,
        )
        chosen = classic_page(offers, page=page, page_size=page_size)
        label = backend.points_label
        return json_response(
            {"points_products": [schemas.points_product(o, label) for o in chosen]}
        )

    @api
    def on_points_product_show(
        self, request: Request, backend: SmileBackend, product_id: int
    ) -> Response:
        offer = self._product(backend.program, product_id)
        return json_response(
            {"points_product": schemas.points_product(offer, backend.points_label)}
        )

    @api
    def on_points_product_purchase(
        self, request: Request, backend: SmileBackend, product_id: int
    ) -> Response:
        body = json_object(request)
        customer_id = read_int(body, "customer_id", required=True)
        program = backend.program
        offer = self._product(program, product_id)
        variable = offer.price_kind is PriceKind.VARIABLE
        # a fixed product ignores points_to_spend altogether (docs/smile.md A14)
        points = read_points(body, "points_to_spend", minimum=1) if variable else None
        assert customer_id is not None
        program.member(customer_id)
        if variable and points is None:
            raise ParseError(
                "points_to_spend",
                "missing",
                "points_to_spend is required for a variable points product",
            )
        with wire_fields(points="points_to_spend", member_id="customer_id"):
            fulfillment = program.redeem(customer_id, offer.id, points=points)
        return json_response({"points_purchase": schemas.points_purchase(fulfillment, offer)}, 201)

    @api
    def on_points_purchases_list(self, request: Request, backend: SmileBackend) -> Response:
        args = query(request)
        customer_id = read_int(args, "customer_id")
        updated_min = read_datetime(args, "updated_at_min", blank_ok=False)
        program = backend.program
        offers = _offers(program)
        purchases = _for_customer(
            program,
            customer_id,
            functools.partial(
                program.fulfillments_page,
                customer_id,
                source=REDEMPTION,
                updated_since=updated_min,
            ),
        )
        return _listing(
            args,
            "points_purchases",
            purchases,
            _record_id,
            lambda f: schemas.points_purchase(f, offers[f.offer_id]),
            classic=False,
        )

    @api
    def on_points_purchase_show(
        self, request: Request, backend: SmileBackend, purchase_id: int
    ) -> Response:
        program = backend.program
        try:
            purchase = program.fulfillment(purchase_id)
        except FulfillmentNotFound:
            purchase = None
        if purchase is None or purchase.source != REDEMPTION:
            raise SmileError(404, PURCHASE_NOT_FOUND)
        offer = program.offer(purchase.offer_id)
        return json_response({"points_purchase": schemas.points_purchase(purchase, offer)})

    # -- points transactions --------------------------------------------------------

    @api
    def on_points_transactions_list(self, request: Request, backend: SmileBackend) -> Response:
        args = query(request)
        customer_id = read_int(args, "customer_id")
        updated_min = read_datetime(args, "updated_at_min", blank_ok=False)
        program = backend.program
        offers = _offers(program)
        # a transaction's updated_at is when it was posted (an approved award: its approval)
        txns = _for_customer(
            program,
            customer_id,
            functools.partial(
                program.transactions_page,
                customer_id,
                status=TxnStatus.POSTED,
                posted_since=updated_min,
            ),
        )
        return _listing(
            args,
            "points_transactions",
            txns,
            _record_id,
            lambda t: schemas.points_transaction(t, offers),
        )

    @api
    def on_points_transaction_create(self, request: Request, backend: SmileBackend) -> Response:
        body = read_object(json_object(request), "points_transaction", required=True) or {}
        label = "points_transaction.{}".format
        customer_id = read_int(body, "customer_id", required=True, label=label("customer_id"))
        change = read_points(body, "points_change", required=True, label=label("points_change"))
        description = read_str(body, "description", required=True, label=label("description"))
        note = read_str(body, "internal_note", label=label("internal_note"))
        assert customer_id is not None and change is not None and description is not None
        with wire_fields(
            points_change=label("points_change"),
            description=label("description"),
            member_id=label("customer_id"),
        ):
            txn_id = backend.adjust(customer_id, change, description, note)
        program = backend.program
        txn = program.transaction(txn_id)
        # only a redemption's description names its offer (an adjustment never is one)
        offers = _offers(program) if txn.kind is TxnKind.REDEEM else {}
        body_out = schemas.points_transaction(txn, offers)
        return json_response({"points_transaction": body_out}, 201)

    @api
    def on_points_transaction_show(
        self, request: Request, backend: SmileBackend, transaction_id: int
    ) -> Response:
        program = backend.program
        txn = program.transaction(transaction_id)
        if txn.status is not TxnStatus.POSTED:
            raise SmileError(404, "Points transaction not found.")
        offers = _offers(program)
        body = schemas.points_transaction(txn, offers)
        return json_response({"points_transaction": body})

    # -- reward fulfillments --------------------------------------------------------

    @api
    def on_reward_fulfillments_list(self, request: Request, backend: SmileBackend) -> Response:
        args = query(request)
        customer_id = read_int(args, "customer_id")
        status = read_str(args, "fulfillment_status", choices=[s.value for s in FulfillmentStatus])
        usage = read_str(args, "usage_status", choices=[u.value for u in UsageStatus])
        updated_min = read_datetime(args, "updated_at_min", blank_ok=False)
        program = backend.program
        offers = _offers(program)
        found = _for_customer(
            program,
            customer_id,
            functools.partial(
                program.fulfillments_page,
                customer_id,
                status=FulfillmentStatus(status) if status is not None else None,
                usage=UsageStatus(usage) if usage is not None else None,
                updated_since=updated_min,
            ),
        )
        return _listing(
            args,
            "reward_fulfillments",
            found,
            _record_id,
            lambda f: schemas.listed_reward_fulfillment(f, offers[f.offer_id]),
            classic=False,
        )

    # -- program configuration (read-only in the API) -------------------------------

    @api
    def on_earning_rules_list(self, request: Request, backend: SmileBackend) -> Response:
        rules = [r for r in backend.program.rules() if r.active]
        return _listing(
            query(request),
            "earning_rules",
            lister_of(rules, _record_id),
            _record_id,
            schemas.earning_rule,
            classic=False,
        )

    @api
    def on_points_settings_show(self, request: Request, backend: SmileBackend) -> Response:
        return json_response({"points_settings": schemas.points_settings(backend.points_label)})

    @api
    def on_vip_tiers_list(self, request: Request, backend: SmileBackend) -> Response:
        include = _includes(query(request), VIP_TIER_INCLUDES)
        program = backend.program
        track = schemas.vip_track(program)
        tiers = program.tiers(track.id) if track is not None else []
        offers = _offers(program)
        return json_response(
            {"vip_tiers": [schemas.vip_tier_details(t, offers, include) for t in tiers]}
        )

    # -- events ---------------------------------------------------------------------

    @api
    def on_event_create(self, request: Request, backend: SmileBackend) -> Response:
        event = read_object(json_object(request), "event", required=True) or {}
        topic = read_str(event, "topic", required=True, choices=TOPICS, label="event.topic")
        data = read_object(event, "data", required=True, label="event.data") or {}
        assert topic is not None
        apply_event(backend, topic, data)
        return json_response({"event": {"topic": topic}}, 202)
