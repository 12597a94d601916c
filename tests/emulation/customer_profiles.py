"""Amazon Connect Customer Profiles domains and profiles (restJson1, SigV4 signing name `profile`).

    POST   /domains/{DomainName}                       CreateDomain     200 CreateDomainResponse
    GET    /domains/{DomainName}                       GetDomain        200 GetDomainResponse
    DELETE /domains/{DomainName}                       DeleteDomain     200 {"Message"}
    GET    /domains[?max-results=&next-token=]         ListDomains      200 {"Items", "NextToken"?}
    POST   /domains/{DomainName}/profiles              CreateProfile    200 {"ProfileId"}
    POST   /domains/{DomainName}/profiles/keys         AddProfileKey    200 {"KeyName", "Values"}
    POST   /domains/{DomainName}/profiles/search[?max-results=&next-token=]
                                                       SearchProfiles   200 {"Items": [Profile], "NextToken"?}
    POST   /domains/{DomainName}/profiles/delete       DeleteProfile    200 {"Message"}

Paths and shapes are botocore's `customer-profiles` 2020-08-15 model; wire.py checks every exchange
against it. Any other operation of the model answers 404 UnknownOperationException (a common AWS
error: this emulation does not know it).

Errors are the model's (status, `x-amzn-ErrorType` header, body {"Message"}): a DomainName outside
`^[a-zA-Z0-9_-]+$` / 1-64 characters, a body that does not fit the operation's input shape (missing
KeyName or Values, a malformed ProfileId), `max-results` outside 1-100 or an unreadable
`next-token` answer 400 BadRequestException; an unknown domain or profile 404
ResourceNotFoundException. CreateDomain of an existing domain answers 400 BadRequestException (what
AWS answers is not documented).

Search (SearchProfiles,
https://docs.aws.amazon.com/connect/latest/APIReference/API_connect-customer-profiles_SearchProfiles.html):
KeyName + Values, and up to 4 AdditionalSearchKeys joined by LogicalOperator (OR when absent, as
documented). A key matches a profile when one of its Values equals (exactly, case included) one of
the profile's values for that key. Standard keys are the profile's fields, as "Standard profile
definition" indexes them (https://docs.aws.amazon.com/connect/latest/adminguide/standard-profile-definition.html):
`_account` AccountNumber; `_email` EmailAddress, PersonalEmailAddress, BusinessEmailAddress;
`_phone` PhoneNumber, MobilePhoneNumber, HomePhoneNumber, BusinessPhoneNumber; `_profileId` the
ProfileId. Any other key (custom, or `_fullName` and the other predefined ones) matches the values
added with AddProfileKey; AddProfileKey on a standard key adds values beside the fields. Several
profiles can match one value. Items come in creation order; FoundByItems is set only when
AdditionalSearchKeys were given (the only case its documentation describes). A page holds at most
`max-results` items, 20 when absent ("The default is 20 if this parameter is not included in the
request", MaxResults on the page above and in botocore's model); NextToken is given while more
remain. It names the last profile returned, so deleting the profiles of earlier pages skips none of
the later ones (how AWS's token behaves while profiles are deleted is not documented: callers
should not rely on either).

Throttling: a token bucket per API for SearchProfiles and DeleteProfile (separate rates, one burst),
429 ThrottlingException past it; then the fault rules of faults.py (service "customer-profiles",
match {"domainName"}); every call can be given added latency. AWS's defaults ("Customer Profiles
API throttling quotas", https://docs.aws.amazon.com/connect/latest/adminguide/amazon-connect-service-limits.html):
100 TPS for each of SearchProfiles and DeleteProfile, no burst given; the emulation throttles only
when a test sets a rate.

Re-creation: an armed rule (domain, key, value) makes each DeleteProfile of a profile carrying that
key value bring a new profile (new ProfileId, that key value) into the domain, at once or after a
delay: what an ingestion does for a person whose profile was deleted when the object type's
AllowProfileCreation is true ("If it is set to TRUE, and if no match is found, then the service
creates a new standard profile", PutProfileObjectType,
https://docs.aws.amazon.com/customerprofiles/latest/APIReference/API_PutProfileObjectType.html; an
integration, PutIntegration or CreateIntegrationWorkflow, ingests into such object types). A rule
fires `times` times (null: always); DeleteDomain drops the domain's rules.

Key values are user data: they are never logged, and the call log holds the domain name only.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
import uuid
from urllib.parse import parse_qs, unquote_to_bytes

from .faults import Faults, ServiceError
from .pinpoint import TokenBucket
from .wire import ServiceModel

LOG = logging.getLogger("emulator.customer_profiles")

SERVICE = "customer-profiles"  # the call log's and the fault rules' name; botocore's data folder
# The operations served here (route() names no others): what the wire checks are run for.
OPERATIONS = ("CreateDomain", "GetDomain", "DeleteDomain", "ListDomains", "CreateProfile", "AddProfileKey",
              "SearchProfiles", "DeleteProfile")
THROTTLED = ("SearchProfiles", "DeleteProfile")
DEFAULT_PAGE = 20  # SearchProfiles MaxResults: "The default is 20 if this parameter is not included"
MAX_PAGE = 100
# Standard search keys and the profile fields they index (standard-profile-definition.html).
STANDARD_KEYS = {
    "_account": ("AccountNumber",),
    "_email": ("EmailAddress", "PersonalEmailAddress", "BusinessEmailAddress"),
    "_phone": ("PhoneNumber", "MobilePhoneNumber", "HomePhoneNumber", "BusinessPhoneNumber"),
}
PROFILE_ID_KEY = "_profileId"
# The Profile members a CreateProfile request can set (all of CreateProfileRequest but DomainName).
PROFILE_FIELDS = ("AccountNumber", "AdditionalInformation", "PartyType", "BusinessName", "FirstName", "MiddleName",
                  "LastName", "BirthDate", "Gender", "PhoneNumber", "MobilePhoneNumber", "HomePhoneNumber",
                  "BusinessPhoneNumber", "EmailAddress", "PersonalEmailAddress", "BusinessEmailAddress", "Address",
                  "ShippingAddress", "MailingAddress", "BillingAddress", "Attributes", "PartyTypeString",
                  "GenderString", "ProfileType", "EngagementPreferences")
DOMAIN_ECHO = ("DefaultEncryptionKey", "DeadLetterQueueUrl", "Tags")
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_PROFILE_ID = re.compile(r"^[a-f0-9]{32}$")


class CustomerProfiles:
    def __init__(self, lock: threading.RLock, faults: Faults):
        self.lock = lock
        self.faults = faults
        self.reset()

    # --- state -----------------------------------------------------------------------------

    def reset(self):
        with self.lock:
            # domain name -> {"domain": {DomainName, DefaultExpirationDays, CreatedAt, ...},
            #                 "profiles": {profile id: {"seq", "fields": {...}, "keys": {key: [values]}}}}
            self.domains: dict[str, dict] = {}
            self.seq = 0
            self.rates: dict[str, float | None] = {op: None for op in THROTTLED}
            self.burst: int | None = None  # None: each API's rate, rounded down, at least 1
            self.buckets: dict[str, TokenBucket] = {}
            self.latency = 0.0
            self.armed: list[dict] = []  # re-creation rules
            self.pending: list[dict] = []  # re-creations due at a monotonic time
            self.recreated: list[dict] = []

    def configure(self, cfg: dict) -> dict:
        unknown = set(cfg) - {"search_rate", "delete_rate", "burst", "latency_ms"}
        if unknown:
            raise ValueError(f"unknown customer-profiles config fields: {sorted(unknown)}")
        with self.lock:
            for field, op in (("search_rate", "SearchProfiles"), ("delete_rate", "DeleteProfile")):
                if field in cfg:
                    rate = None if cfg[field] is None else float(cfg[field])
                    if rate is not None and rate <= 0:
                        raise ValueError(f"{field} must be > 0 or null")
                    self.rates[op] = rate
            if "burst" in cfg:
                self.burst = None if cfg["burst"] is None else max(1, int(cfg["burst"]))
            if cfg.get("latency_ms") is not None:
                self.latency = float(cfg["latency_ms"]) / 1000
            self.buckets = {}
            return self.config()

    def config(self) -> dict:
        return {"search_rate": self.rates["SearchProfiles"], "delete_rate": self.rates["DeleteProfile"],
                "burst": self.burst, "latency_ms": self.latency * 1000}

    def create_domain(self, name: str, expiration_days: int = 366, extra: dict | None = None) -> dict:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ServiceError("BadRequestException", "DomainName must match ^[a-zA-Z0-9_-]+$, 1-64 characters", 400)
        now = time.time()
        domain = {"DomainName": name, "DefaultExpirationDays": int(expiration_days), "CreatedAt": now,
                  "LastUpdatedAt": now}
        domain.update({k: v for k, v in (extra or {}).items() if k in DOMAIN_ECHO})
        with self.lock:
            if name in self.domains:
                raise ServiceError("BadRequestException", "A domain with this name already exists", 400)
            self.domains[name] = {"domain": domain, "profiles": {}}
        return dict(domain)

    def seed(self, domain_name: str, specs: list[dict]) -> list[str]:
        """Profiles carrying a key value: [{"key", "value", "count"?: 1, "fields"?: {...}}] -> their ids."""
        made: list[str] = []
        with self.lock:
            state = self._domain(domain_name)
            for spec in specs:
                key, value = spec["key"], spec["value"]
                count = int(spec.get("count", 1))
                if count < 1 or (key == PROFILE_ID_KEY and count != 1):
                    raise ValueError("count must be >= 1 (exactly 1 for _profileId)")
                for _ in range(count):
                    made.append(self._new_profile(state, key, value, spec.get("fields")))
        return made

    def profiles(self, domain_name: str) -> list[dict]:
        """Every profile of a domain with its search keys (standard ones from its fields) and fields."""
        with self.lock:
            self._materialize()
            state = self._domain(domain_name)
            return [{"profileId": pid, "keys": _keys_of(p), "fields": dict(p["fields"])}
                    for pid, p in sorted(state["profiles"].items(), key=lambda kv: kv[1]["seq"])]

    def arm_recreation(self, domain_name: str, key: str, value: str, times: int | None = 1,
                       delay_ms: float = 0) -> dict:
        _check_key_value(key, value)
        if key == PROFILE_ID_KEY:
            raise ValueError("a re-created profile has a new ProfileId: arm it on another key")
        rule = {"domainName": domain_name, "key": key, "value": value,
                "times": None if times is None else int(times), "delay_ms": float(delay_ms)}
        with self.lock:
            self._domain(domain_name)
            self.armed.append(rule)
        return dict(rule)

    def recreations(self) -> dict:
        with self.lock:
            self._materialize()
            return {"armed": [dict(r) for r in self.armed], "pending": len(self.pending),
                    "recreated": [dict(r) for r in self.recreated]}

    def _domain(self, name: str | None) -> dict:
        state = self.domains.get(name) if name is not None else None
        if state is None:
            raise ServiceError("ResourceNotFoundException", "The domain does not exist", 404)
        return state

    def _new_profile(self, state: dict, key: str, value: str, fields: dict | None = None) -> str:
        """A profile carrying one key value (a standard key sets its first field). Called locked."""
        _check_key_value(key, value)
        fields = _check_fields(fields or {})
        keys: dict[str, list[str]] = {}
        pid = uuid.uuid4().hex
        if key == PROFILE_ID_KEY:
            if not _PROFILE_ID.match(value) or value in state["profiles"]:
                raise ValueError("a _profileId value must be 32 lower-case hex digits, not in use")
            pid = value
        elif key in STANDARD_KEYS:
            fields[STANDARD_KEYS[key][0]] = value
        else:
            keys[key] = [value]
        self._put(state, pid, fields, keys)
        return pid

    def _put(self, state: dict, pid: str, fields: dict, keys: dict):
        self.seq += 1
        state["profiles"][pid] = {"seq": self.seq, "fields": fields, "keys": keys}

    def _materialize(self):
        """Brings in the re-created profiles that are due. Called locked."""
        now = time.monotonic()
        due = [p for p in self.pending if p["at"] <= now]
        if not due:
            return
        self.pending = [p for p in self.pending if p["at"] > now]
        for p in due:
            state = self.domains.get(p["domainName"])
            if state is None:
                continue
            pid = self._new_profile(state, p["key"], p["value"])
            self.recreated.append({"domainName": p["domainName"], "key": p["key"], "value": p["value"],
                                   "deletedProfileId": p["deletedProfileId"], "profileId": pid})

    def _after_delete(self, domain_name: str, pid: str, profile: dict):
        """Schedules the re-creations armed for a key value the deleted profile carried. Called locked."""
        keys = _keys_of(profile)
        for rule in self.armed:
            if rule["domainName"] != domain_name or rule["times"] == 0:
                continue
            if rule["value"] not in keys.get(rule["key"], ()):
                continue
            if rule["times"] is not None:
                rule["times"] -= 1
            self.pending.append({"at": time.monotonic() + rule["delay_ms"] / 1000, "domainName": domain_name,
                                 "key": rule["key"], "value": rule["value"], "deletedProfileId": pid})
        self._materialize()

    # --- the wire API ----------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, body: dict | None, region: str,
               query: str = "") -> tuple[int, dict]:
        op, domain = route(method, raw_path)
        attrs = {"domainName": domain} if domain is not None else {}
        if self.latency:
            time.sleep(self.latency)
        try:
            with self.lock:
                # Throttling comes first (the front door), then injected faults.
                self._throttle(op)
                rule = self.faults.take(SERVICE, op, attrs) if self.faults.rules else None
            if rule is not None:
                rule.fire()
            if op == "Unsupported":
                raise ServiceError("UnknownOperationException", "This operation is not emulated", 404)
            if domain is not None:
                _check_domain_name(domain)
            params = parse_qs(query, keep_blank_values=True)
            if op in ("SearchProfiles", "ListDomains"):
                _page_params(params)  # 400 before any lookup
            body = _checked_body(op, body)
            with self.lock:
                self._materialize()
                status, out = getattr(self, "op_" + op)(domain, body, params)
            self.faults.log(SERVICE, op, status, attrs)
            return status, out
        except ServiceError as e:
            self.faults.log(SERVICE, op, e.status, attrs, error=e.code, injected=e.injected)
            raise

    def _throttle(self, op: str):
        rate = self.rates.get(op)
        if rate is None:
            return
        bucket = self.buckets.get(op)
        if bucket is None:
            bucket = self.buckets[op] = TokenBucket(rate, self.burst or max(1, int(rate)))
        if not bucket.take():
            raise ServiceError("ThrottlingException", "Rate exceeded", 429)

    def op_CreateDomain(self, domain, body, _params):
        extra = {k: body[k] for k in DOMAIN_ECHO if k in body}
        return 200, self.create_domain(domain, body["DefaultExpirationDays"], extra)

    def op_GetDomain(self, domain, _body, _params):
        state = self._domain(domain)
        return 200, {**state["domain"], "Stats": {"ProfileCount": len(state["profiles"])}}

    def op_DeleteDomain(self, domain, _body, _params):
        self._domain(domain)
        del self.domains[domain]
        self.armed = [r for r in self.armed if r["domainName"] != domain]
        self.pending = [p for p in self.pending if p["domainName"] != domain]
        return 200, {"Message": "Successfully deleted domain"}

    def op_ListDomains(self, _domain, _body, params):
        size, after = _page_params(params)
        names = sorted(self.domains)
        start = int(after) if after is not None else 0
        if not 0 <= start <= len(names):
            raise ServiceError("BadRequestException", "Invalid NextToken", 400)
        size = size or max(1, len(names))
        items = []
        for name in names[start:start + size]:
            d = self.domains[name]["domain"]
            items.append({k: d[k] for k in ("DomainName", "CreatedAt", "LastUpdatedAt", "Tags") if k in d})
        out: dict = {"Items": items}
        if start + size < len(names):
            out["NextToken"] = _token(start + size)
        return 200, out

    def op_CreateProfile(self, domain, body, _params):
        state = self._domain(domain)
        pid = uuid.uuid4().hex
        self._put(state, pid, {k: body[k] for k in PROFILE_FIELDS if k in body}, {})
        return 200, {"ProfileId": pid}

    def op_AddProfileKey(self, domain, body, _params):
        profile = self._profile(self._domain(domain), body["ProfileId"])
        have = profile["keys"].setdefault(body["KeyName"], [])
        for v in body["Values"]:
            if v not in have:
                have.append(v)
        return 200, {"KeyName": body["KeyName"], "Values": list(body["Values"])}

    def op_SearchProfiles(self, domain, body, params):
        state = self._domain(domain)
        size, after = _page_params(params)
        size = size or DEFAULT_PAGE
        last = int(after) if after is not None else 0
        search = [(body["KeyName"], body["Values"])] + [(k["KeyName"], k["Values"])
                                                         for k in body.get("AdditionalSearchKeys", ())]
        every = body.get("LogicalOperator", "OR") == "AND"
        found_by = "AdditionalSearchKeys" in body
        items: list[dict] = []
        more = False
        for pid, p in sorted(state["profiles"].items(), key=lambda kv: kv[1]["seq"]):
            if p["seq"] <= last:
                continue
            keys = _keys_of(p, pid)
            hits = [(k, [v for v in values if v in keys.get(k, ())]) for k, values in search]
            if not (all(h for _, h in hits) if every else any(h for _, h in hits)):
                continue
            if len(items) == size:
                more = True
                break
            item = {"ProfileId": pid, **p["fields"]}
            if found_by:
                pairs = search if every else [(k, h) for k, h in hits if h]
                item["FoundByItems"] = [{"KeyName": k, "Values": list(v)} for k, v in pairs]
            items.append(item)
            last = p["seq"]
        out: dict = {"Items": items}
        if more:
            out["NextToken"] = _token(last)
        return 200, out

    def op_DeleteProfile(self, domain, body, _params):
        state = self._domain(domain)
        pid = body["ProfileId"]
        profile = self._profile(state, pid)
        del state["profiles"][pid]
        self._after_delete(domain, pid, profile)
        return 200, {"Message": "Successfully deleted profile"}

    @staticmethod
    def _profile(state: dict, pid: str) -> dict:
        profile = state["profiles"].get(pid)
        if profile is None:
            raise ServiceError("ResourceNotFoundException", "The profile does not exist", 404)
        return profile


def _keys_of(profile: dict, pid: str | None = None) -> dict[str, list[str]]:
    """A profile's search keys: the standard ones from its fields, then those added as keys."""
    keys: dict[str, list[str]] = {}
    for key, fields in STANDARD_KEYS.items():
        values = [profile["fields"][f] for f in fields if isinstance(profile["fields"].get(f), str)]
        if values:
            keys[key] = values
    for key, values in profile["keys"].items():
        have = keys.setdefault(key, [])
        have.extend(v for v in values if v not in have)
    if pid is not None:
        keys[PROFILE_ID_KEY] = [pid]
    return keys


def _check_key_value(key, value):
    if not isinstance(key, str) or not _NAME.match(key):
        raise ValueError("a key name must match ^[a-zA-Z0-9_-]+$, 1-64 characters")
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise ValueError("a key value must be a string of 1-255 characters")


def _check_fields(fields: dict) -> dict:
    """Seeded profile fields: Profile members a CreateProfile request can set, of the model's types."""
    if not isinstance(fields, dict) or set(fields) - set(PROFILE_FIELDS):
        raise ValueError(f"fields: an object of Profile fields, {list(PROFILE_FIELDS)}")
    problems: list[str] = []
    ServiceModel.load(SERVICE).shapes.check("Profile")(fields, "fields", problems)
    if problems:
        raise ValueError(problems[0])
    return dict(fields)


def _check_domain_name(domain: str):
    problems: list[str] = []
    ServiceModel.load(SERVICE).shapes.check("name")(domain, "DomainName", problems)
    if problems:
        raise ServiceError("BadRequestException", f"Invalid request: {problems[0]}", 400)


def _checked_body(op: str, body) -> dict:
    """The request body if it fits the operation's input shape; BadRequestException (naming the
    problem, never a value) otherwise."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ServiceError("BadRequestException", "The request body must be a JSON object", 400)
    check = ServiceModel.load(SERVICE).body_check(op)
    if check is not None:
        problems: list[str] = []
        check(body, "", problems)
        if problems:
            raise ServiceError("BadRequestException", f"Invalid request: {problems[0]}", 400)
    return body


def _page_params(params: dict[str, list[str]]) -> tuple[int | None, str | None]:
    """(max-results or None, what next-token names or None); BadRequestException if either is bad."""
    size = None
    if "max-results" in params:
        try:
            size = int(params["max-results"][-1])
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_PAGE:
            raise ServiceError("BadRequestException", f"max-results must be between 1 and {MAX_PAGE}", 400)
    after = None
    if "next-token" in params:
        try:
            after = base64.urlsafe_b64decode(params["next-token"][-1].encode()).decode()
            if not after.isdigit():
                raise ValueError
        except Exception:  # noqa: BLE001 - any unreadable token
            raise ServiceError("BadRequestException", "Invalid NextToken", 400) from None
    return size, after


def _token(n: int) -> str:
    return base64.urlsafe_b64encode(str(n).encode()).decode()


def _segment(raw: str) -> str:
    # Decode exactly once; raw non-ASCII bytes (werkzeug hands them over as latin-1) stay UTF-8.
    return unquote_to_bytes(raw.encode("latin-1", errors="replace")).decode("utf-8", errors="replace")


def route(method: str, raw_path: str) -> tuple[str, str | None]:
    """(operation, domain name) of a raw, still percent-encoded path; "Unsupported" for any other."""
    parts = raw_path.split("/")
    # ["", "domains", domain, "profiles", sub]
    if len(parts) < 2 or parts[0] != "" or parts[1] != "domains":
        return "Unsupported", None
    n = len(parts)
    if n == 2 or (n == 3 and parts[2] == ""):
        return ("ListDomains" if method == "GET" else "Unsupported"), None
    domain = _segment(parts[2])
    if n == 3:
        return {"POST": "CreateDomain", "GET": "GetDomain", "DELETE": "DeleteDomain"}.get(method, "Unsupported"), domain
    if parts[3] != "profiles" or method != "POST":
        return "Unsupported", domain
    if n == 4:
        return "CreateProfile", domain
    if n == 5:
        return {"keys": "AddProfileKey", "search": "SearchProfiles", "delete": "DeleteProfile"}.get(
            parts[4], "Unsupported"), domain
    return "Unsupported", domain
