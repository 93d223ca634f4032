"""Smile's part of the control plane: what the vendor API cannot create.

`SmileControl` extends the shared `ControlPlane` (the Python twin of every `/_fake/` route)
with customers, points products, earning rules and VIP tiers; `SmileControlViews` serves the
same operations as JSON under `/_fake/tenants/<name>/...`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request, Response

from fakeservers._http import (
    ControlPlane,
    ParseError,
    Seeder,
    TenantRegistry,
    control_error,
    json_object,
    json_response,
    read_bool,
    read_date,
    read_decimal,
    read_int,
    read_money,
    read_multiplier,
    read_points,
    read_str,
)
from fakeservers.smile import schemas
from fakeservers.smile.backend import SmileBackend
from loyaltykit import (
    Cap,
    EarningRule,
    Member,
    MemberState,
    Metric,
    PriceKind,
    RewardOffer,
    RuleKind,
    Tier,
    Window,
)
from loyaltykit.clock import MAX_LIFETIME
from loyaltykit.limits import MAX_CODE, MAX_TEXT, MAX_TOTAL_POINTS

__all__ = ["SmileControl", "SmileControlViews"]

MILESTONE_MAX = Decimal(MAX_TOTAL_POINTS)
"""A VIP tier's milestone is a points (or spend) total: at most `MAX_TOTAL_POINTS`."""
DISPLAY_KEYS = (
    "exchange_description",
    "reward_description",
    "image_url",
    "action_text",
    "action_url",
    "usage_instructions",
    "terms_and_conditions",
)


class SmileControl(ControlPlane[SmileBackend]):
    """Python twin of the Smile control routes (plus the shared ones it inherits)."""

    def __init__(
        self, registry: TenantRegistry[SmileBackend], seeders: Mapping[str, Seeder[SmileBackend]]
    ) -> None:
        super().__init__(registry, seeders)

    def backend(self, tenant: str) -> SmileBackend:
        return self.registry.tenant(tenant).program

    def create_customer(
        self,
        tenant: str,
        *,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        date_of_birth: date | None = None,
        state: str = "member",
        external_id: str | None = None,
        points_balance: int = 0,
        referral_url: str | None = None,
    ) -> Member:
        """Enrol a customer, with an opening balance credited as one transaction."""
        program = self.backend(tenant).program
        if points_balance < 0:
            raise ParseError("points_balance", "invalid", "points_balance must not be negative")
        metadata = {"referral_url": referral_url} if referral_url else {}
        with program.atomic():  # a refused opening balance leaves no customer behind
            member = program.add_member(
                email=email,
                external_id=external_id,
                first_name=first_name,
                last_name=last_name,
                birthday=date_of_birth,
                state=MemberState(state),
                metadata=metadata,
            )
            if points_balance:
                program.earn(member.id, points_balance, description="Opening balance")
        return program.member(member.id)

    def create_points_product(
        self,
        tenant: str,
        *,
        name: str,
        exchange_type: str = "fixed",
        points_price: int = 0,
        value: Decimal = Decimal(0),
        variable_points_step: int = 1,
        variable_points_step_reward_value: Decimal = Decimal(0),
        variable_points_min: int | None = None,
        variable_points_max: int | None = None,
        code_prefix: str | None = None,
        codes: Sequence[str] | None = None,
        expires_in_days: int | None = None,
        active: bool = True,
        display: Mapping[str, Any] | None = None,
    ) -> RewardOffer:
        """A reward offer with its coupon pool: uploaded `codes` (finite) or generated
        `<code_prefix>-<hex>` codes (default prefix "reward")."""
        program = self.backend(tenant).program
        now = schemas.timestamp(program.clock.now())
        metadata = {"created_at": now, "updated_at": now, **dict(display or {})}
        with program.atomic():  # a refused offer leaves no pool behind
            if codes:
                pool = program.add_pool(name=name, codes=list(codes))
            else:
                pool = program.add_pool(name=name, prefix=code_prefix or "reward")
            return program.add_offer(
                name=name,
                price_kind=PriceKind(exchange_type),
                points_price=points_price,
                value=value,
                step=variable_points_step,
                value_per_step=variable_points_step_reward_value,
                min_points=variable_points_min,
                max_points=variable_points_max,
                pool_id=pool.id,
                active=active,
                reward_lifetime=timedelta(days=expires_in_days) if expires_in_days else None,
                metadata=metadata,
            )

    def create_earning_rule(
        self,
        tenant: str,
        *,
        name: str,
        token: str,
        points: int | None = None,
        points_per_dollar: Decimal | None = None,
        max_awards: int | None = None,
        window: str = "lifetime",
        display: Mapping[str, Any] | None = None,
    ) -> EarningRule:
        """An earning rule triggered by `token` (an activity token, or "order" for orders):
        fixed `points`, or `points_per_dollar` of the amount."""
        program = self.backend(tenant).program
        if (points is None) == (points_per_dollar is None):
            raise ParseError("points", "invalid", "give exactly one of points, points_per_dollar")
        cap = Cap(max_awards, Window(window)) if max_awards is not None else None
        if points_per_dollar is not None:
            return program.add_rule(
                name=name,
                kind=RuleKind.MULTIPLIER,
                multiplier=points_per_dollar,
                trigger=token,
                cap=cap,
                metadata=dict(display or {}),
            )
        return program.add_rule(
            name=name, points=points or 0, trigger=token, cap=cap, metadata=dict(display or {})
        )

    def create_vip_tier(
        self,
        tenant: str,
        *,
        name: str,
        milestone: Decimal,
        multiplier: Decimal = Decimal(1),
        metric: str = "points_earned",
        window: str = "lifetime",
        image_url: str | None = None,
        perks: Sequence[str] = (),
    ) -> Tier:
        """A tier on the tenant's VIP track (created on first use with `metric`/`window`)."""
        program = self.backend(tenant).program
        metadata: dict[str, Any] = {"perks": list(perks)}
        if image_url is not None:
            metadata["image_url"] = image_url
        with program.atomic():  # a refused first tier leaves no track behind
            track = schemas.vip_track(program)
            if track is None:
                track = program.add_track(
                    name="VIP", metric=Metric(metric), window=Window(window)
                )
            return program.add_tier(
                track.id, name=name, threshold=milestone, multiplier=multiplier, metadata=metadata
            )


def _choice(body: Mapping[str, Any], name: str, default: str, choices: Sequence[str]) -> str:
    return read_str(body, name, choices=choices) or default


def _display(body: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _text_or_null(body, key) for key in DISPLAY_KEYS if isinstance(body.get(key), str)}


def _text_or_null(body: Mapping[str, Any], name: str) -> str | None:
    """A display field: text of at most `MAX_TEXT` characters, or null."""
    if body.get(name) is None:
        return None
    return read_str(body, name)


def _strings(body: Mapping[str, Any], name: str, max_length: int) -> list[str]:
    """A list of strings of at most `max_length` characters each."""
    values = body.get(name)
    if not (isinstance(values, list) and all(isinstance(v, str) for v in values)):
        raise ParseError(name, "invalid", f"{name} must be a list of strings")
    for value in values:
        if len(value) > max_length:
            raise ParseError(
                name, "invalid", f"{name} must hold strings of at most {max_length} characters"
            )
    return values


class SmileControlViews:
    """JSON routes of `SmileControl`'s Smile-specific operations."""

    def __init__(self, control: SmileControl) -> None:
        self.control = control

    def render_error(self, request: Request, exc: Exception) -> Response | None:
        if isinstance(exc, ValueError) and not hasattr(exc, "code"):
            return json_response({"error": {"message": str(exc), "code": "invalid_argument"}}, 400)
        return control_error(exc)

    def on_fake_customer_create(self, request: Request, name: str) -> Response:
        body = json_object(request)
        member = self.control.create_customer(
            name,
            email=read_str(body, "email"),
            first_name=read_str(body, "first_name"),
            last_name=read_str(body, "last_name"),
            date_of_birth=read_date(body, "date_of_birth"),
            state=_choice(body, "state", "member", [s.value for s in MemberState]),
            external_id=read_str(body, "external_id", max_length=MAX_CODE),
            points_balance=read_points(body, "points_balance", minimum=0) or 0,
            referral_url=read_str(body, "referral_url"),
        )
        program = self.control.backend(name).program
        return json_response({"customer": schemas.customer(program, member)}, 201)

    def on_fake_points_product_create(self, request: Request, name: str) -> Response:
        body = json_object(request)
        codes = _strings(body, "codes", MAX_CODE) if "codes" in body else None
        offer = self.control.create_points_product(
            name,
            name=read_str(body, "name", required=True) or "",
            exchange_type=_choice(body, "exchange_type", "fixed", ["fixed", "variable"]),
            points_price=read_points(body, "points_price", minimum=0) or 0,
            value=read_money(body, "value", minimum=Decimal(0)) or Decimal(0),
            variable_points_step=read_points(body, "variable_points_step", minimum=1) or 1,
            variable_points_step_reward_value=read_money(
                body, "variable_points_step_reward_value", minimum=Decimal(0)
            )
            or Decimal(0),
            variable_points_min=read_points(body, "variable_points_min", minimum=1),
            variable_points_max=read_points(body, "variable_points_max", minimum=1),
            code_prefix=read_str(body, "code_prefix", max_length=MAX_CODE),
            codes=codes,
            expires_in_days=read_int(body, "expires_in_days", minimum=1, maximum=MAX_LIFETIME.days),
            active=read_bool(body, "active") is not False,
            display=_display(body),
        )
        label = self.control.backend(name).points_label
        return json_response({"points_product": schemas.points_product(offer, label)}, 201)

    def on_fake_earning_rule_create(self, request: Request, name: str) -> Response:
        body = json_object(request)
        window_choices = [w.value for w in Window]
        rule = self.control.create_earning_rule(
            name,
            name=read_str(body, "name", required=True) or "",
            token=read_str(body, "token", required=True, max_length=MAX_CODE) or "",
            points=read_points(body, "points", minimum=1),
            points_per_dollar=read_multiplier(body, "points_per_dollar"),
            max_awards=read_int(body, "max_awards", minimum=1),
            window=_choice(body, "window", "lifetime", window_choices),
            display={
                key: _text_or_null(body, key)
                for key in ("image_url", "action_text", "action_url")
                if key in body
            },
        )
        return json_response({"earning_rule": schemas.earning_rule(rule)}, 201)

    def on_fake_vip_tier_create(self, request: Request, name: str) -> Response:
        body = json_object(request)
        perks = _strings(body, "perks", MAX_TEXT) if "perks" in body else []
        tier = self.control.create_vip_tier(
            name,
            name=read_str(body, "name", required=True) or "",
            milestone=read_decimal(
                body, "milestone", required=True, minimum=Decimal(0), maximum=MILESTONE_MAX
            )
            or Decimal(0),
            multiplier=read_multiplier(body, "multiplier") or Decimal(1),
            metric=_choice(body, "metric", "points_earned", [m.value for m in Metric]),
            window=_choice(body, "window", "lifetime", [w.value for w in Window]),
            image_url=read_str(body, "image_url"),
            perks=perks,
        )
        offers: dict[int, RewardOffer] = {}
        return json_response({"vip_tier": schemas.vip_tier_details(tier, offers, {"perks"})}, 201)
