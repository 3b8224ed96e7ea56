import hashlib
import secrets
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _


def validate_timezone(value: str) -> None:
    # Checked against the installed tz database rather than stored as choices, so a tzdata
    # update never turns into a migration.
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("“%(value)s” is not a time zone name such as Asia/Seoul."), params={"value": value}
        )


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    # Set by an admin, like membership (User.team): a lead may lead a team without being in it.
    # A lead's team powers (its channels and watch rules) follow this, never their own team.
    leads = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("leads"),
        blank=True,
        related_name="led_teams",
        limit_choices_to=models.Q(role__in=["lead", "admin"]) | models.Q(is_superuser=True),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("team", args=[self.slug])


class PersonQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class PersonManager(UserManager.from_queryset(PersonQuerySet)):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", User.Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person of the lab: the login and the profile are one row."""

    class Role(models.TextChoices):
        RESEARCHER = "researcher", _("Researcher")
        LEAD = "lead", _("Lead")
        ADMIN = "admin", _("Admin")

    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.RESEARCHER)
    timezone = models.CharField(
        _("time zone"), max_length=64, default=settings.TIME_ZONE, validators=[validate_timezone]
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    arxiv_names = models.JSONField(
        _("names on arXiv"),
        default=list,
        blank=True,
        help_text=_("The ways your name appears on your papers, for example “Jung-Woo Ha” and “J.-W. Ha”."),
    )
    research_interests = models.TextField(_("research interests"), blank=True)
    # The morning e-mail of what the person's watch rules found; chat channels do not replace it.
    morning_digest = models.BooleanField(_("morning e-mail digest"), default=True)
    # Paper lists show every abstract whole, or its first lines until it is opened.
    expand_abstracts = models.BooleanField(_("show abstracts in full"), default=False)
    # Personal calendar feeds may ring before the person's talks and deadlines; off unless asked
    # for, since a subscribed calendar would otherwise start ringing without warning.
    calendar_alarms = models.BooleanField(_("alarms in my calendar feeds"), default=False)
    # A new address waits here until its owner opens the link sent to it (lab_portal/addresses.py):
    # it reserves nothing and matches nobody, so typing someone else's address changes nothing.
    pending_email = models.EmailField(_("new e-mail address, not yet confirmed"), blank=True)
    # Single sign-on: a first log-in asks for what the portal needs before the dashboard, a
    # newcomer may ask to join a team (admins decide), and may wait for an admin's approval.
    needs_welcome = models.BooleanField(_("first log-in questions not yet answered"), default=False)
    requested_team = models.ForeignKey(
        Team,
        verbose_name=_("asked to join team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    awaiting_approval = models.BooleanField(
        _("awaiting approval"),
        default=False,
        help_text=_("Signed up through single sign-on; can log in once an admin approves the account."),
    )

    objects = PersonManager()

    class Meta:
        ordering = ["display_name", "username"]
        verbose_name = _("person")
        verbose_name_plural = _("people")
        constraints = [
            # Mail, channels, password resets and the first single sign-on go by the address.
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="one_person_per_email",
                violation_error_message=_("This address belongs to another account."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("person", args=[self.username])

    @property
    def name(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_lead(self) -> bool:
        return self.role in (self.Role.LEAD, self.Role.ADMIN) or self.is_superuser

    @cached_property
    def led_team_ids(self) -> frozenset[int]:
        """The teams an admin made this person lead, while they hold a lead's role; read once
        per request (or per loaded person)."""
        if not self.is_lead or self.pk is None:
            return frozenset()
        return frozenset(self.led_teams.values_list("pk", flat=True))

    def leads_team(self, team_id: int | None) -> bool:
        return team_id is not None and team_id in self.led_team_ids

    def apply_role(self) -> None:
        """The admin role is what opens Django's admin site: keep Django's flags in step with it."""
        self.is_staff = self.is_superuser = self.role == self.Role.ADMIN

    @cached_property
    def uses_password(self) -> bool:
        """Whether this person logs in with a portal password (and so may change it)."""
        return self.has_usable_password() and (
            not settings.OIDC_ENABLED or SignOnPolicy.current().password_allowed(self)
        )

    @property
    def is_portal_admin(self) -> bool:
        return self.role == self.Role.ADMIN or self.is_superuser


class SignOnPolicy(models.Model):
    """How single sign-on admits people, set by the lab's admins on the admin site (one row)."""

    password_login = models.BooleanField(
        _("password log-in"),
        default=True,
        help_text=_(
            "With single sign-on on, turn this off so people log in only through the provider; "
            "the administrators named below keep their passwords for when the provider is down."
        ),
    )
    break_glass = models.ManyToManyField(
        User,
        verbose_name=_("administrators who keep password log-in"),
        blank=True,
        limit_choices_to=models.Q(role=User.Role.ADMIN) | models.Q(is_superuser=True),
        related_name="+",
    )
    recheck_minutes = models.PositiveIntegerField(
        _("re-check sessions every (minutes)"),
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text=_("A person deactivated at the provider loses access to the portal within this time."),
    )
    allowed_domains = models.CharField(
        _("admitted e-mail domains"),
        max_length=500,
        blank=True,
        help_text=_(
            "Space-separated, such as “lab.example.org”. Blank, with no groups either: anyone "
            "the provider signs in."
        ),
    )
    allowed_groups = models.CharField(
        _("admitted provider groups"),
        max_length=500,
        blank=True,
        help_text=_(
            "Space-separated group names from the provider's groups claim; a member of any is admitted."
        ),
    )
    approve_new_accounts = models.BooleanField(
        _("new accounts wait for approval"),
        default=False,
        help_text=_("A first log-in creates an inactive account that an admin approves."),
    )

    class Meta:
        verbose_name = _("single sign-on policy")
        verbose_name_plural = _("single sign-on policy")

    def __str__(self) -> str:
        return str(_("Single sign-on policy"))

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)
        cache.delete(self.CACHE_KEY)

    CACHE_KEY = "sign-on-policy"

    @classmethod
    def current(cls) -> "SignOnPolicy":
        """The policy, read once from the cache on the pages and checks that need it."""
        policy = cache.get(cls.CACHE_KEY)
        if policy is None:
            policy = cls.objects.filter(pk=1).first() or cls(pk=1)
            cache.set(cls.CACHE_KEY, policy, 300)
        return policy

    def password_allowed(self, user: "User") -> bool:
        if not settings.OIDC_ENABLED or self.password_login:
            return True
        return self.pk is not None and self.break_glass.filter(pk=user.pk).exists()

    def admits(self, email: str, groups) -> bool:
        domains = self.allowed_domains.lower().split()
        wanted = set(self.allowed_groups.split())
        if not domains and not wanted:
            return True
        domain = email.rpartition("@")[2].lower()
        named = {str(group) for group in groups} if isinstance(groups, list) else set()
        return domain in domains or bool(wanted & named)


class SsoIdentity(models.Model):
    """Who a person is at the lab's identity provider: after the first single sign-on, the
    provider's stable subject finds the person, never the e-mail address again."""

    person = models.ForeignKey(
        User, verbose_name=_("person"), on_delete=models.CASCADE, related_name="sso_identities"
    )
    issuer = models.CharField(_("issuer"), max_length=255)
    subject = models.CharField(_("subject"), max_length=255)
    created_at = models.DateTimeField(_("linked at"), auto_now_add=True)

    class Meta:
        verbose_name = _("single sign-on identity")
        verbose_name_plural = _("single sign-on identities")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="one_person_per_sso_subject"),
            models.UniqueConstraint(fields=["person", "issuer"], name="one_sso_subject_per_person"),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.issuer}"


class ChannelQuerySet(models.QuerySet):
    def enabled(self):
        return self.filter(enabled=True)

    def owned_by(self, owner: "User | Team"):
        return self.filter(team=owner) if isinstance(owner, Team) else self.filter(person=owner)

    def for_lab(self):
        return self.filter(person__isnull=True, team__isnull=True, outside=False)

    def managed_by(self, user: "User"):
        """A person's own channels and, for a lead, those of the teams they lead."""
        return self.filter(models.Q(person=user) | models.Q(team_id__in=user.led_team_ids))

    def telegram_chat(self, chat_id: int | str):
        """The channels that send to one Telegram chat, those linked through the bot first."""
        return self.filter(kind=Channel.Kind.TELEGRAM, target=str(chat_id)).order_by(
            models.F("linked_at").desc(nulls_last=True), "pk"
        )

    def own_email(self, person: "User") -> "Channel":
        """The person's own e-mail channel: blank target, so it goes to their profile address and
        follows it once they confirm a new one. Made turned on when missing; the person's own
        choice to turn it off is kept."""
        channel, _created = self.get_or_create(person=person, kind=Channel.Kind.EMAIL, target="")
        return channel

    def group_chats(self):
        """Telegram groups (see Channel.is_group_chat)."""
        return self.filter(kind=Channel.Kind.TELEGRAM, target__startswith=Channel.GROUP_CHAT_PREFIX)

    def linked_account_of(self, person: "User"):
        return self.filter(kind=Channel.Kind.TELEGRAM, person=person, linked_at__isnull=False)

    def linked_account(self, telegram_user_id: int | str):
        """The private chat a person linked with `/start`: whose Telegram account this is."""
        return self.filter(
            kind=Channel.Kind.TELEGRAM,
            target=str(telegram_user_id),
            person__isnull=False,
            person__is_active=True,
            linked_at__isnull=False,
        )


class Channel(models.Model):
    """Where a person, a team or the whole lab (neither set) receives messages."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("E-mail")
        TELEGRAM = "telegram", _("Telegram")
        SLACK = "slack", _("Slack")

    person = models.ForeignKey(
        User,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="channels",
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.CASCADE, related_name="channels"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # A Telegram chat id, a Slack webhook URL or an e-mail address (blank: the person's own).
    target = models.CharField(_("target"), max_length=500, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    last_sent_at = models.DateTimeField(_("last sent at"), null=True, blank=True)
    # The latest test message: a worker sends it, and the channel's page follows its state.
    last_test = models.ForeignKey(
        "Delivery",
        verbose_name=_("last test message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Telegram: the chat's name, and when the bot linked it through a one-time code. A chat id
    # typed in by hand (before linking existed) has no date: it still receives messages, but
    # nobody is recognised by it, since anyone could have typed anyone's id.
    title = models.CharField(_("chat name"), max_length=255, blank=True)
    linked_at = models.DateTimeField(_("linked at"), null=True, blank=True)
    # The address of someone outside the lab (a guest speaker without an account): it has no
    # owner, like the lab's channels, but carries only what is addressed to it, never the lab's.
    outside = models.BooleanField(_("outside address"), default=False, db_default=False)

    objects = ChannelQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "pk"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(person__isnull=True) | models.Q(team__isnull=True),
                name="channel_has_at_most_one_owner",
            ),
            models.UniqueConstraint(
                fields=["person", "kind", "target"], name="one_channel_per_person_target"
            ),
            models.UniqueConstraint(fields=["team", "kind", "target"], name="one_channel_per_team_target"),
            models.UniqueConstraint(
                fields=["kind", "target"],
                condition=models.Q(person__isnull=True, team__isnull=True, outside=False),
                name="one_lab_channel_per_target",
            ),
            models.UniqueConstraint(
                fields=["kind", "target"],
                condition=models.Q(outside=True),
                name="one_outside_channel_per_target",
            ),
            models.CheckConstraint(
                condition=models.Q(outside=False)
                | models.Q(person__isnull=True, team__isnull=True, kind="email", target__gt=""),
                name="outside_channel_is_an_address",
            ),
            # A Telegram account is one person: who pressed a button or replied is never in doubt.
            models.UniqueConstraint(
                fields=["kind", "target"],
                condition=models.Q(person__isnull=False, linked_at__isnull=False),
                name="one_person_per_linked_chat",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.destination} ({self.owner_name})"

    @property
    def owner(self) -> "User | Team | None":
        return self.person or self.team

    @property
    def owner_name(self) -> str:
        if self.outside:
            return str(_("outside the lab"))
        return str(self.owner) if self.owner else str(_("the lab"))

    @property
    def destination(self) -> str:
        if self.kind == self.Kind.EMAIL and not self.target:
            return self.person.email if self.person else ""
        return self.target

    @property
    def language(self) -> str:
        return self.person.language if self.person else settings.LANGUAGE_CODE

    # Telegram numbers groups, supergroups and channels below zero, private chats above.
    GROUP_CHAT_PREFIX = "-"

    @property
    def is_group_chat(self) -> bool:
        return self.kind == self.Kind.TELEGRAM and self.target.startswith(self.GROUP_CHAT_PREFIX)

    @property
    def shown_name(self) -> str:
        return self.title or self.destination


class DeliveryQuerySet(models.QuerySet):
    def claim(self, pk: int) -> int | None:
        """Take a due delivery for one attempt: pending → sending in one conditional UPDATE, so of
        two workers only one wins. Returns the attempt's number, or None when it is not ours."""
        now = timezone.now()
        lease = now + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
        won = self.filter(pk=pk, state=Delivery.State.PENDING, next_attempt_at__lte=now).update(
            state=Delivery.State.SENDING, attempts=models.F("attempts") + 1, leased_until=lease
        )
        return self.filter(pk=pk).values_list("attempts", flat=True).first() if won else None

    def lease_expired(self):
        return self.filter(state=Delivery.State.SENDING, leased_until__lt=timezone.now())

    def overdue(self, before):
        return self.filter(state=Delivery.State.PENDING, next_attempt_at__lte=before)

    def outcome_unknown(self):
        return self.filter(state=Delivery.State.UNKNOWN)


class Delivery(models.Model):
    """One message on one channel: its state is the record that it is sent once."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        # The request went out and no answer came back (or the worker died mid-send): it may
        # have arrived. Closed like a failure, never sent again but by an admin's hand.
        UNKNOWN = "unknown", _("outcome unknown")

    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), on_delete=models.CASCADE, related_name="deliveries"
    )
    dedupe_key = models.CharField(_("dedupe key"), max_length=255)
    payload = models.JSONField(_("message"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    leased_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    response = models.TextField(_("response or error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "dedupe_key"], name="one_delivery_per_channel_and_key"
            ),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.dedupe_key} → {self.channel_id} ({self.state})"

    @property
    def subject(self) -> str:
        return self.payload.get("subject", "")

    CLOSED = (State.SENT, State.FAILED, State.UNKNOWN)
    REDACTED = "[removed once sent]"

    @property
    def redacted(self) -> bool:
        return bool(self.payload.get("redacted"))

    def finish(self, *, attempt: int, state: str, response: str, retry_at=None) -> bool:
        """Record an attempt's outcome, unless the attempt lost its claim in the meantime."""
        fields = {"state": state, "response": response[:2000], "leased_until": None}
        if state == self.State.SENT:
            fields["sent_at"] = timezone.now()
        if state in self.CLOSED and self.payload.get("secrets"):
            fields["payload"] = without_secrets(self.payload)
        if retry_at is not None:
            fields["next_attempt_at"] = retry_at
        done = Delivery.objects.filter(pk=self.pk, attempts=attempt).update(**fields) == 1
        if done:
            for name, value in fields.items():
                setattr(self, name, value)
        return done


def without_secrets(payload: dict) -> dict:
    """The payload with each of its `secrets` replaced wherever it appears, marked redacted: what a
    closed delivery keeps, since nothing sends it again."""
    secrets = [secret for secret in payload.get("secrets", []) if secret]
    if not secrets:
        return payload

    def scrub(value):
        if isinstance(value, str):
            for secret in secrets:
                value = value.replace(secret, Delivery.REDACTED)
            return value
        if isinstance(value, list):
            return [scrub(part) for part in value]
        if isinstance(value, dict):
            return {name: scrub(part) for name, part in value.items()}
        return value

    cleaned = scrub({name: value for name, value in payload.items() if name != "secrets"})
    cleaned["redacted"] = True
    return cleaned


class ChatItemQuerySet(models.QuerySet):
    def in_message(self, chat_id: int | str, message_id: int):
        return self.filter(chat_id=str(chat_id), message_id=message_id)

    def standing(self):
        """Items of messages that went out or may still go: a failed delivery carried nothing."""
        return self.exclude(delivery__state=Delivery.State.FAILED)


class ChatItem(models.Model):
    """One thing (`ref`: "paper:2401.01234", "comment:42") carried by one chat message: what a
    reply or a button press in that chat is about, and what a channel has already carried.

    Written when a delivery is queued (Telegram's message id follows when it answers), and when
    a message someone wrote in a linked group becomes a comment (no delivery: it is theirs)."""

    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), on_delete=models.CASCADE, related_name="chat_items"
    )
    delivery = models.ForeignKey(
        Delivery,
        verbose_name=_("delivery"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="chat_items",
    )
    ref = models.CharField(_("about"), max_length=100)
    # The message is about this one thing alone, so a reply to it is about this thing.
    sole = models.BooleanField(_("alone in its message"), default=True)
    chat_id = models.CharField(_("chat id"), max_length=32, blank=True)
    message_id = models.BigIntegerField(_("message id"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = ChatItemQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("chat item")
        verbose_name_plural = _("chat items")
        indexes = [
            models.Index(fields=["chat_id", "message_id"], name="chat_item_message"),
            models.Index(fields=["ref", "chat_id"], name="chat_item_ref"),
            models.Index(fields=["channel", "ref"], name="chat_item_channel_ref"),
        ]

    def __str__(self) -> str:
        return f"{self.ref} in {self.chat_id or self.channel_id}/{self.message_id or '?'}"

    @property
    def kind(self) -> str:
        return self.ref.partition(":")[0]

    @property
    def value(self) -> str:
        return self.ref.partition(":")[2]


def link_code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class ChatLinkCodeQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(used_at__isnull=True, expires_at__gt=timezone.now())


class ChatLinkCode(models.Model):
    """A one-time code that links a Telegram chat to the portal: a person's private chat
    (`/start <code>` through the deep link), or a group to a team or the lab (`/link <code>`).

    Only its SHA-256 is stored; the code itself is shown once, to the person who asked for it."""

    class Scope(models.TextChoices):
        PERSON = "person", _("a person's private chat")
        TEAM = "team", _("a team's group")
        LAB = "lab", _("the lab's group")

    digest = models.CharField(_("digest"), max_length=64, unique=True)
    scope = models.CharField(_("links"), max_length=10, choices=Scope.choices)
    person = models.ForeignKey(
        User, verbose_name=_("asked by"), on_delete=models.CASCADE, related_name="chat_link_codes"
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    objects = ChatLinkCodeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("chat link code")
        verbose_name_plural = _("chat link codes")

    def __str__(self) -> str:
        return f"{self.get_scope_display()} · {self.person} ({'used' if self.used_at else 'open'})"

    @classmethod
    def issue(cls, *, person: User, scope: str, team: Team | None = None) -> tuple["ChatLinkCode", str]:
        """A new code; the person's earlier open codes for the same chat stop working."""
        code = secrets.token_urlsafe(18)  # 24 characters of A-Z a-z 0-9 _ -, as deep links allow
        now = timezone.now()
        with transaction.atomic():
            cls.objects.usable().filter(person=person, scope=scope, team=team).update(expires_at=now)
            row = cls.objects.create(
                digest=link_code_digest(code),
                scope=scope,
                person=person,
                team=team,
                created_at=now,
                expires_at=now + timedelta(minutes=settings.TELEGRAM_LINK_MINUTES),
            )
        return row, code

    @classmethod
    def find(cls, code: str) -> "ChatLinkCode | None":
        return (
            cls.objects.usable()
            .select_related("person", "team")
            .filter(digest=link_code_digest(code))
            .first()
        )

    def use(self) -> bool:
        """Spend the code: one conditional UPDATE, so of two chats racing only one links."""
        now = timezone.now()
        return bool(
            ChatLinkCode.objects.filter(pk=self.pk, used_at__isnull=True, expires_at__gt=now).update(
                used_at=now
            )
        )


class TelegramUpdate(models.Model):
    """One update from the bot (webhook or long polling), stored before it is handled so that an
    update Telegram delivers twice, or two pollers both fetch, is handled once.

    The payload is emptied once handled: what people write in a chat is kept only as the comments
    they chose to post."""

    update_id = models.BigIntegerField(_("update id"), unique=True)
    payload = models.JSONField(_("update"), default=dict, blank=True)
    kind = models.CharField(_("kind"), max_length=40, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-update_id"]
        verbose_name = _("Telegram update")
        verbose_name_plural = _("Telegram updates")
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=models.Q(handled_at__isnull=True),
                name="telegram_update_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.update_id} {self.kind} ({'handled' if self.handled_at else 'waiting'})"


def new_feed_key() -> str:
    return secrets.token_urlsafe(32)


class FeedKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True, **{f"{self.model.OWNER}__is_active": True})


class FeedKey(models.Model):
    """The secret in a person's feed URLs (seminar calendars, Atom feeds of papers).

    A calendar program or a feed reader cannot log in, so the URL carries a key of its own;
    renewing or revoking it retires every copy of every URL at once. Each app keeps its own
    table (subclasses name their owner field in OWNER), and the rules live here once."""

    OWNER = "person"
    # Feeds are polled every hour or so: record use at most hourly instead of on every fetch.
    USE_RESOLUTION = timedelta(hours=1)

    key = models.CharField(_("key"), max_length=64, unique=True, default=new_feed_key, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    objects = FeedKeyQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{getattr(self, self.OWNER)} ({'revoked' if self.revoked_at else 'active'})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def current(cls, owner):
        """The owner's key in use, or None."""
        return cls.objects.filter(**{cls.OWNER: owner}, revoked_at__isnull=True).first()

    @classmethod
    def revoke_all(cls, owner) -> int:
        return cls.objects.filter(**{cls.OWNER: owner}, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )

    def revoke(self) -> None:
        type(self).objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())

    @classmethod
    def renew(cls, owner):
        """A new key for `owner`; the old ones stop working in the same transaction."""
        with transaction.atomic():
            cls.revoke_all(owner)
            return cls.objects.create(**{cls.OWNER: owner})

    @classmethod
    def for_key(cls, key: str):
        """The active key of an active person, or None; notes when it was last used."""
        token = cls.objects.active().select_related(cls.OWNER).filter(key=key).first()
        now = timezone.now()
        if token and (token.last_used_at is None or now - token.last_used_at > cls.USE_RESOLUTION):
            cls.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token


class ProjectQuerySet(models.QuerySet):
    def involving(self, user):
        return self.filter(people=user)


class Project(models.Model):
    """A line of research from its first results to its paper: talks, action items, drafts and
    reviews point at it, so its page can tell the whole story. It lives here, below the apps,
    because both seminars and reviews refer to it."""

    class Stage(models.TextChoices):
        FIRST_RESULTS = "first_results", _("First results")
        PROGRESS = "progress", _("Progress")
        PRE_SUBMISSION = "pre_submission", _("Pre-submission")

    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True, help_text=_("Markdown, with $math$."))
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="projects",
    )
    people = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("people"), blank=True, related_name="projects"
    )
    target_venue = models.ForeignKey(
        "reviews.Venue",
        verbose_name=_("target venue"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="projects",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("started"), default=timezone.now, editable=False)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("project", args=[self.pk])

    def can_edit(self, user) -> bool:
        return user.is_authenticated and (user.is_lead or self.people.filter(pk=user.pk).exists())

    def action_items(self):
        """The action items its talks produced. The seminars app's model is looked up by name:
        this app sits below the others and imports none of them."""
        from django.apps import apps

        action_item = apps.get_model("seminars", "ActionItem")
        return action_item.objects.filter(talk__project=self).select_related("owner", "talk")


class Heartbeat(models.Model):
    """When a background process last showed it was alive: one row per Celery worker (`worker:`
    and its name) and one for beat, read by /healthz. In the database, not Redis: a flushed Redis
    must not make a running worker look dead."""

    name = models.CharField(max_length=255, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def record(cls, name: str) -> None:
        cls.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})

    @classmethod
    def latest(cls, *, prefix: str) -> "Heartbeat | None":
        return cls.objects.filter(name__startswith=prefix).order_by("-seen_at").first()
