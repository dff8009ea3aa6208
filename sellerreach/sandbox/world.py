"""The deterministic order world behind the SP-API stand-in.

Orders arrive per (seller, marketplace) as a seeded arrival process with a daily rhythm, starting
`history_days` before the clock's start and going on for as long as the clock runs. Day buckets are generated
the first time a query reaches them, each from its own seed, so the same seed and the same clock times give
the same orders however the world was queried. Every order carries its whole planned life as timed events
(created -> unshipped -> shipped -> delivered, or cancelled; some replaced by a later order); a version of the
order is visible once its event's `visible_at` has passed, which is how late-arriving updates are modelled.

Payloads follow the `Order` definition of the vendored Orders API 2026-01-01 model (schemas/spapi/).
"""

from __future__ import annotations

import bisect
import math
import random
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sellerreach.clock import Clock
from sellerreach.marketplaces import Marketplace, get_marketplace, minor_units


@dataclass(frozen=True)
class SandboxSeller:
    account_id: str  # e.g. "acme-na"
    selling_partner_id: str  # e.g. "A3DEMOSELLERNA"
    refresh_token: str  # what LWA accepts for this seller
    marketplace_ids: tuple[str, ...]
    orders_per_day: float = 120.0  # per marketplace


def demo_sellers(refresh_tokens: Mapping[str, str]) -> tuple[SandboxSeller, ...]:
    """The embedded demo: "acme-na" (US, CA, MX) and "acme-eu" (UK, DE, FR).

    `refresh_tokens` maps account_id -> the refresh token LWA accepts for it; both accounts must be present.
    """
    tokens = dict(refresh_tokens)
    missing = [a for a in ("acme-na", "acme-eu") if a not in tokens]
    if missing:
        raise KeyError(
            f"demo_sellers needs a refresh token for {missing}, e.g. {{'acme-na': 'Atzr|demo-na'}}"
        )
    return (
        SandboxSeller(
            "acme-na",
            "A3DEMOSELLERNA",
            tokens["acme-na"],
            ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"),
        ),
        SandboxSeller(
            "acme-eu",
            "A3DEMOSELLEREU",
            tokens["acme-eu"],
            ("A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH"),
        ),
    )


# --- catalogue and local colour -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Product:
    asin: str
    sku: str
    usd_price: float
    titles: dict[str, str]  # language -> title


_CATALOGUE: tuple[_Product, ...] = (
    _Product(
        "B0C4YQ2NTB",
        "ACME-BTL-750-BLK",
        24.99,
        {
            "en": "ACME Insulated Stainless Steel Water Bottle, 750 ml, Black",
            "de": "ACME Isolierte Edelstahl-Trinkflasche, 750 ml, Schwarz",
            "fr": "ACME Gourde isotherme en acier inoxydable, 750 ml, Noir",
            "es": "ACME Botella de agua térmica de acero inoxidable, 750 ml, Negro",
            "it": "ACME Borraccia termica in acciaio inox, 750 ml, Nero",
            "ja": "ACME 真空断熱ステンレスボトル 750ml ブラック",
        },
    ),
    _Product(
        "B0BX7K3M9P",
        "ACME-CUT-BAM-3",
        32.99,
        {
            "en": "ACME Bamboo Cutting Board Set, 3 Pieces",
            "de": "ACME Schneidebrett-Set aus Bambus, 3-teilig",
            "fr": "ACME Lot de 3 planches à découper en bambou",
            "es": "ACME Juego de tablas de cortar de bambú, 3 piezas",
            "it": "ACME Set di taglieri in bambù, 3 pezzi",
            "ja": "ACME 竹製まな板 3点セット",
        },
    ),
    _Product(
        "B09TQ4Z8LK",
        "ACME-USBC-2M-2PK",
        12.99,
        {
            "en": "ACME USB-C to USB-C Charging Cable, 2 m, 2-Pack",
            "de": "ACME USB-C auf USB-C Ladekabel, 2 m, 2er-Pack",
            "fr": "ACME Câble de charge USB-C vers USB-C, 2 m, lot de 2",
            "es": "ACME Cable de carga USB-C a USB-C, 2 m, paquete de 2",
            "it": "ACME Cavo di ricarica da USB-C a USB-C, 2 m, confezione da 2",
            "ja": "ACME USB-C to USB-C 充電ケーブル 2m 2本セット",
        },
    ),
    _Product(
        "B0D2R8VW5H",
        "ACME-YOGA-6MM-PUR",
        29.99,
        {
            "en": "ACME Non-Slip Yoga Mat, 6 mm, Purple",
            "de": "ACME Rutschfeste Yogamatte, 6 mm, Lila",
            "fr": "ACME Tapis de yoga antidérapant, 6 mm, Violet",
            "es": "ACME Esterilla de yoga antideslizante, 6 mm, Morado",
            "it": "ACME Tappetino yoga antiscivolo, 6 mm, Viola",
            "ja": "ACME 滑り止めヨガマット 6mm パープル",
        },
    ),
    _Product(
        "B0CJH5N2QX",
        "ACME-LAMP-QI-WHT",
        45.99,
        {
            "en": "ACME LED Desk Lamp with Wireless Charger, White",
            "de": "ACME LED-Schreibtischlampe mit kabellosem Ladegerät, Weiß",
            "fr": "ACME Lampe de bureau LED avec chargeur sans fil, Blanc",
            "es": "ACME Lámpara de escritorio LED con cargador inalámbrico, Blanco",
            "it": "ACME Lampada da scrivania LED con caricatore wireless, Bianco",
            "ja": "ACME ワイヤレス充電器付き LEDデスクライト ホワイト",
        },
    ),
    _Product(
        "B08L5WJ4RT",
        "ACME-SKL-26",
        39.99,
        {
            "en": "ACME Pre-Seasoned Cast Iron Skillet, 26 cm",
            "de": "ACME Gusseisenpfanne, vorgeölt, 26 cm",
            "fr": "ACME Poêle en fonte pré-culottée, 26 cm",
            "es": "ACME Sartén de hierro fundido precurada, 26 cm",
            "it": "ACME Padella in ghisa pre-stagionata, 26 cm",
            "ja": "ACME 鋳鉄スキレット 26cm",
        },
    ),
    _Product(
        "B07Z8Q3MXF",
        "ACME-BAKE-SIL-2",
        15.99,
        {
            "en": "ACME Silicone Baking Mats, Set of 2",
            "de": "ACME Silikon-Backmatten, 2er-Set",
            "fr": "ACME Tapis de cuisson en silicone, lot de 2",
            "es": "ACME Tapetes de silicona para hornear, juego de 2",
            "it": "ACME Tappetini da forno in silicone, set da 2",
            "ja": "ACME シリコン製ベーキングマット 2枚セット",
        },
    ),
    _Product(
        "B0B9X2KQ7D",
        "ACME-EAR-ANC-BLK",
        59.99,
        {
            "en": "ACME Wireless Noise Cancelling Earbuds, Black",
            "de": "ACME Kabellose In-Ear-Kopfhörer mit Geräuschunterdrückung, Schwarz",
            "fr": "ACME Écouteurs sans fil à réduction de bruit, Noir",
            "es": "ACME Auriculares inalámbricos con cancelación de ruido, Negro",
            "it": "ACME Auricolari wireless con cancellazione del rumore, Nero",
            "ja": "ACME ノイズキャンセリング ワイヤレスイヤホン ブラック",
        },
    ),
    _Product(
        "B0CQW7T3LZ",
        "ACME-TWL-4-GRY",
        34.99,
        {
            "en": "ACME Cotton Bath Towels, Set of 4, Grey",
            "de": "ACME Badetücher aus Baumwolle, 4er-Set, Grau",
            "fr": "ACME Serviettes de bain en coton, lot de 4, Gris",
            "es": "ACME Toallas de baño de algodón, juego de 4, Gris",
            "it": "ACME Asciugamani da bagno in cotone, set da 4, Grigio",
            "ja": "ACME 綿バスタオル 4枚セット グレー",
        },
    ),
    _Product(
        "B09N6V8HJC",
        "ACME-POUR-CER-WHT",
        19.99,
        {
            "en": "ACME Ceramic Pour-Over Coffee Dripper, White",
            "de": "ACME Keramik-Kaffeefilter für Handaufguss, Weiß",
            "fr": "ACME Dripper à café en céramique, Blanc",
            "es": "ACME Gotero de café de cerámica para pour-over, Blanco",
            "it": "ACME Dripper per caffè in ceramica, Bianco",
            "ja": "ACME 陶器製コーヒードリッパー ホワイト",
        },
    ),
)

# Rough exchange rates from USD, only to make prices look local.
_FX = {
    "USD": 1.0,
    "CAD": 1.36,
    "MXN": 17.5,
    "BRL": 5.0,
    "GBP": 0.79,
    "EUR": 0.92,
    "SEK": 10.5,
    "PLN": 4.0,
    "TRY": 32.0,
    "AED": 3.67,
    "SAR": 3.75,
    "EGP": 48.0,
    "INR": 83.0,
    "ZAR": 18.5,
    "JPY": 150.0,
    "AUD": 1.5,
    "SGD": 1.35,
}

_NAMES = {
    "en": (
        (
            "James",
            "Mary",
            "Robert",
            "Patricia",
            "Michael",
            "Jennifer",
            "David",
            "Linda",
            "Sarah",
            "Daniel",
            "Emily",
            "Chris",
        ),
        ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor", "Clark"),
    ),
    "de": (
        ("Lukas", "Anna", "Jonas", "Lea", "Felix", "Marie", "Paul", "Sophie", "Maximilian", "Laura"),
        (
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Hoffmann",
            "Schulz",
        ),
    ),
    "fr": (
        ("Camille", "Louis", "Léa", "Hugo", "Chloé", "Lucas", "Manon", "Jules", "Inès", "Thomas"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"),
    ),
    "es": (
        (
            "Sofía",
            "Mateo",
            "Valentina",
            "Santiago",
            "Ximena",
            "Diego",
            "Camila",
            "Sebastián",
            "Lucía",
            "Alejandro",
        ),
        (
            "García",
            "Hernández",
            "López",
            "Martínez",
            "González",
            "Rodríguez",
            "Pérez",
            "Sánchez",
            "Ramírez",
            "Flores",
        ),
    ),
    "it": (
        ("Giulia", "Francesco", "Sofia", "Alessandro", "Aurora", "Lorenzo", "Chiara", "Matteo"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci"),
    ),
    "ja": (
        ("太郎", "花子", "翔太", "美咲", "健", "さくら"),
        ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺"),
    ),
}
_COMPANIES = {
    "en": (
        "Northwind Traders LLC",
        "Blue Harbor Dental",
        "Summit Office Supply Inc.",
        "Maple Leaf Clinics Ltd.",
    ),
    "de": ("Müller Bürotechnik GmbH", "Weber & Söhne KG", "Praxis Dr. Fischer"),
    "fr": ("Atelier Moreau SARL", "Boulangerie Durand SAS", "Cabinet Leroy"),
    "es": ("Papelería Flores S.A. de C.V.", "Clínica Dental Ramírez", "Distribuidora López"),
    "it": ("Studio Rossi S.r.l.", "Ferrari Forniture S.p.A."),
    "ja": ("株式会社サクラ商事", "田中工業株式会社"),
}
_STREETS = {
    "en": ("123 Main St", "4500 Oak Ave", "77 Pine Rd", "910 Maple Dr", "12 High Street", "5 Station Road"),
    "de": ("Hauptstraße 12", "Bahnhofstraße 3", "Gartenweg 7", "Lindenallee 21"),
    "fr": ("12 rue de la République", "5 avenue Victor Hugo", "27 boulevard Voltaire"),
    "es": ("Av. Insurgentes Sur 1234", "Calle Reforma 56", "Calle Juárez 89"),
    "it": ("Via Roma 10", "Corso Italia 45", "Via Garibaldi 3"),
    "ja": ("渋谷1-2-3", "梅田4-5-6", "栄7-8-9"),
}
_CITIES = {  # country -> (city, stateOrRegion, postalCode)
    "US": (
        ("Seattle", "WA", "98109"),
        ("Austin", "TX", "78701"),
        ("Columbus", "OH", "43215"),
        ("Denver", "CO", "80202"),
        ("Brooklyn", "NY", "11201"),
    ),
    "CA": (
        ("Toronto", "ON", "M5V 2T6"),
        ("Vancouver", "BC", "V6B 1A1"),
        ("Montréal", "QC", "H2X 1Y4"),
        ("Calgary", "AB", "T2P 1J9"),
    ),
    "MX": (
        ("Ciudad de México", "CDMX", "06700"),
        ("Guadalajara", "JAL", "44100"),
        ("Monterrey", "NL", "64000"),
    ),
    "GB": (("London", "", "SW1A 1AA"), ("Manchester", "", "M1 1AE"), ("Leeds", "", "LS1 4DY")),
    "DE": (
        ("Berlin", "", "10115"),
        ("München", "", "80331"),
        ("Hamburg", "", "20095"),
        ("Köln", "", "50667"),
    ),
    "FR": (
        ("Paris", "", "75011"),
        ("Lyon", "", "69002"),
        ("Marseille", "", "13001"),
        ("Toulouse", "", "31000"),
    ),
    "IT": (("Milano", "MI", "20121"), ("Roma", "RM", "00184")),
    "ES": (("Madrid", "M", "28013"), ("Barcelona", "B", "08002")),
    "JP": (("東京都", "東京都", "150-0002"), ("大阪市", "大阪府", "530-0001")),
}
_CARRIERS = {
    "US": (("USPS", "USPS Ground Advantage"), ("UPS", "UPS Ground")),
    "CA": (("Canada Post", "Expedited Parcel"),),
    "MX": (("Estafeta", "Día Siguiente"), ("DHL", "Express")),
    "GB": (("Royal Mail", "Tracked 48"), ("DPD", "Next Day")),
    "DE": (("DHL", "Paket"), ("Hermes", "Standard")),
    "FR": (("Colissimo", "Domicile sans signature"), ("Chronopost", "Chrono 13")),
    "IT": (("Poste Italiane", "Crono"),),
    "ES": (("Correos", "Paq Estándar"),),
    "JP": (("Yamato Transport", "宅急便"),),
}
_ORDER_ID_PREFIXES = {
    "US": ("111", "112", "113", "114"),
    "CA": ("701", "702"),
    "MX": ("701", "702"),
    "GB": ("202", "203", "204", "205", "206"),
    "JP": ("249", "250", "503"),
}
_EU_PREFIXES = ("302", "303", "304", "305", "306", "028")
_CANCEL_REASONS = (
    ("BUYER", "BUYER", "Order created by mistake"),
    ("BUYER", "BUYER", "Found a better price"),
    (None, "MERCHANT", "No inventory"),
    (None, "AMAZON", "Payment could not be authorised"),
)
# Relative order volume by local hour of day (evening peak, quiet nights).
_HOURLY_RHYTHM = (
    0.4,
    0.25,
    0.15,
    0.1,
    0.1,
    0.15,
    0.35,
    0.6,
    0.8,
    0.95,
    1.0,
    1.05,
    1.1,
    1.05,
    1.0,
    1.0,
    1.05,
    1.15,
    1.3,
    1.45,
    1.5,
    1.35,
    1.0,
    0.65,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# An order's planned events end at most this many days after the start of the day bucket that owns it
# (creation day + shipping + delivery + a replacement order and its own life); searches look back this far.
_MAX_LIFE_DAYS = 30
_ID_SPACE = 10**14
_ID_MULTIPLIER = 7_304_813_977_331  # coprime with 10, so n -> n * M + B is a bijection on 14-digit numbers
_SEQ_SPACE = 1_000_000  # order numbers per (day, stream); replacements use the upper half
_STREAM_SPACE = 1_000

_OUTSIDE_WINDOW = (
    "You can't use this feature to request a review outside the 5-30 day range after the order delivery date."
)

CORRUPTIONS = frozenset({"negative_quantity", "bad_amount", "missing_items", "bad_currency"})

# Datasets of `includedData` and the order / item keys each one controls (Orders API 2026-01-01).
DATASET_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "BUYER": (("buyer",), ()),
    "RECIPIENT": (("recipient",), ()),
    "PROCEEDS": (("proceeds",), ("proceeds",)),
    "EXPENSE": ((), ("expense",)),
    "PROMOTION": ((), ("promotion",)),
    "CANCELLATION": ((), ("cancellation",)),
    "FULFILLMENT": (("fulfillment",), ("fulfillment",)),
    "PACKAGES": (("packages",), ()),
    "TAX": (("tax",), ("tax",)),
    "PAYMENT": (("payment",), ()),
    "FULFILLMENT_ORDERS": (("fulfillmentOrders",), ()),
}

# Event kinds, in lifecycle order.
CREATED, UNSHIPPED, SHIPPED, DELIVERED, CANCELLED, TOUCHED, CORRUPTED = (
    "created",
    "unshipped",
    "shipped",
    "delivered",
    "cancelled",
    "touched",
    "corrupted",
)
_LIFECYCLE = (UNSHIPPED, SHIPPED, DELIVERED, CANCELLED)


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with a Z, whole seconds, as Amazon writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_amount(minor: int, currency: str) -> str:
    """Minor units -> Amazon's decimal string ("24.99"; JPY "2980")."""
    digits = minor_units(currency)
    if digits == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}"


def project_order(order: dict, included: Collection[str]) -> dict:
    """A copy of an order payload with only the datasets named in `included` (orderId, times, salesChannel,
    programs, associations and the items' product data always stay)."""
    keep = {d.upper() for d in included}
    order_drop: set[str] = set()
    item_drop: set[str] = set()
    for dataset, (order_keys, item_keys) in DATASET_KEYS.items():
        if dataset not in keep:
            order_drop.update(order_keys)
            item_drop.update(item_keys)
    out = {k: v for k, v in order.items() if k not in order_drop}
    if "orderItems" in out:
        out["orderItems"] = [
            {k: v for k, v in item.items() if k not in item_drop} for item in out["orderItems"]
        ]
    return out


# --- internal records ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Event:
    at: datetime  # the version's lastUpdatedTime
    visible_at: datetime  # when readers start seeing it (later than `at` for late updates)
    kind: str
    detail: str = ""
    revision: int = 0  # the world revision that made this event (0: planned at generation)


@dataclass(slots=True)
class _Line:
    item_id: str
    product: int  # index into _CATALOGUE
    quantity: int
    unit_minor: int
    business_price: bool
    discount_minor: int  # >= 0, subtracted
    shipping_minor: int
    promotion_id: str


@dataclass(slots=True)
class _Buyer:
    name: str
    email: str
    language: str


@dataclass(slots=True)
class _Order:
    order_id: str
    account_id: str
    marketplace_id: str
    created: datetime
    fulfilled_by: str  # AMAZON | MERCHANT
    programs: tuple[str, ...]
    service_level: str
    buyer_key: str  # identifies the buyer within the stream; the buyer itself is derived when rendering
    company: str | None
    purchase_order: str | None
    address: tuple[str, str, str, str]  # street, city, stateOrRegion, postalCode
    lines: list[_Line]
    cancel: tuple[str | None, str, str] | None  # requester, cancelledBy, reason
    replacement_of: str | None
    carrier: tuple[str, str]
    tracking_bits: int
    events: list[_Event] = field(default_factory=list)

    def version_at(self, as_of: datetime, revision: int | None = None) -> int:
        """Index of the newest event visible at `as_of` (by lastUpdatedTime), -1 when the order is not
        visible. With `revision`, changes injected after that world revision are ignored (a snapshot)."""
        for index in range(len(self.events) - 1, -1, -1):
            event = self.events[index]
            if event.visible_at <= as_of and (revision is None or event.revision <= revision):
                return index
        return -1

    def add_event(self, event: _Event) -> None:
        ats = [e.at for e in self.events]
        self.events.insert(bisect.bisect_right(ats, event.at), event)


@dataclass
class _Stream:
    index: int
    seller: SandboxSeller
    marketplace: Marketplace
    next_day: int = 0  # the first day bucket not generated yet
    buckets: dict[int, list[_Order]] = field(default_factory=dict)


def _day_index(moment: datetime) -> int:
    return (moment - _EPOCH).days


def _whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 60:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


class OrderWorld:
    """Every order of every sandbox seller, generated lazily and deterministically from seed and clock.

    Thread-safe. All times come from `clock`. Unknown account ids raise KeyError.
    """

    def __init__(
        self,
        sellers: Sequence[SandboxSeller],
        clock: Clock,
        *,
        seed: int = 7,
        history_days: int = 35,
        late_update_share: float = 0.05,
        late_delay_seconds: tuple[int, int] = (240, 600),
    ) -> None:
        if not sellers:
            raise ValueError("OrderWorld needs at least one SandboxSeller")
        if len({s.account_id for s in sellers}) != len(sellers):
            raise ValueError("sandbox sellers need distinct account ids")
        if not 0 <= late_update_share <= 1:
            raise ValueError(f"late_update_share must be within 0..1, got {late_update_share}")
        self.sellers = tuple(sellers)
        self.clock = clock
        self.seed = seed
        self._late_share = late_update_share
        self._late_delay = late_delay_seconds
        self._history_start = _whole_seconds(clock.now()) - timedelta(days=history_days)
        self._lock = threading.RLock()
        self._streams: dict[tuple[str, str], _Stream] = {}
        for seller in self.sellers:
            for marketplace_id in seller.marketplace_ids:
                key = (seller.account_id, marketplace_id)
                if key not in self._streams:
                    self._streams[key] = _Stream(len(self._streams), seller, get_marketplace(marketplace_id))
        if len(self._streams) >= _STREAM_SPACE:
            raise ValueError(f"at most {_STREAM_SPACE - 1} (seller, marketplace) pairs")
        for stream in self._streams.values():
            stream.next_day = _day_index(self._history_start)
        self._by_id: dict[str, _Order] = {}
        self._touched: dict[str, _Order] = {}  # orders changed by add_late_update / corrupt_order
        self._solicited: dict[tuple[str, str], datetime] = {}
        self._revision = 0  # goes up with every injected change, so a snapshot can leave later ones out

    @property
    def revision(self) -> int:
        """The count of injected changes so far; with `as_of`, it pins a snapshot for `search_keys`."""
        with self._lock:
            return self._revision

    # --- public queries -------------------------------------------------------------------------------------

    def seller(self, account_id: str) -> SandboxSeller:
        for seller in self.sellers:
            if seller.account_id == account_id:
                return seller
        raise KeyError(f"no sandbox seller {account_id!r}; known: {[s.account_id for s in self.sellers]}")

    def search(
        self,
        account_id: str,
        *,
        marketplace_ids: Sequence[str] | None,
        last_updated_after: datetime | None = None,
        last_updated_before: datetime | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        include_pii: bool = False,
        fulfillment_statuses: Collection[str] | None = None,
        fulfilled_by: Collection[str] | None = None,
        as_of: datetime | None = None,
    ) -> list[dict]:
        """The versions visible now (or at `as_of`) of the orders matching the filters, as Orders API
        payloads sorted by (lastUpdatedTime, orderId). Bounds are inclusive. `buyer` and `recipient` only
        with include_pii."""
        hits = self.search_keys(
            account_id,
            marketplace_ids=marketplace_ids,
            last_updated_after=last_updated_after,
            last_updated_before=last_updated_before,
            created_after=created_after,
            created_before=created_before,
            fulfillment_statuses=fulfillment_statuses,
            fulfilled_by=fulfilled_by,
            as_of=as_of,
        )
        return [self.render(hit, include_pii=include_pii) for hit in hits]

    def search_keys(
        self,
        account_id: str,
        *,
        marketplace_ids: Sequence[str] | None,
        last_updated_after: datetime | None = None,
        last_updated_before: datetime | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        fulfillment_statuses: Collection[str] | None = None,
        fulfilled_by: Collection[str] | None = None,
        as_of: datetime | None = None,
        revision: int | None = None,
    ) -> list[tuple[datetime, str, _Order, int]]:
        """Like `search` but returns (lastUpdatedTime, orderId, order, version) without building payloads,
        so a server can render only the page it serves (see `render`). `as_of` plus `revision` answer from
        a snapshot: what was visible then, without changes injected since."""
        seller = self.seller(account_id)
        now = self.clock.now()
        as_of = min(as_of or now, now)
        markets = list(seller.marketplace_ids if marketplace_ids is None else marketplace_ids)
        statuses = set(fulfillment_statuses) if fulfillment_statuses else None
        channels = set(fulfilled_by) if fulfilled_by else None
        lower = max(filter(None, (last_updated_after, created_after)), default=None)
        hits: list[tuple[datetime, str, _Order, int]] = []
        with self._lock:
            self._ensure(now, account_id)
            seen: set[str] = set()
            for order in self._candidates(account_id, markets, lower):
                if order.order_id in seen:
                    continue
                seen.add(order.order_id)
                if created_after and order.created < created_after:
                    continue
                if created_before and order.created > created_before:
                    continue
                if last_updated_after and order.events[-1].at < last_updated_after:
                    continue
                version = order.version_at(as_of, revision)
                if version < 0:
                    continue
                updated = order.events[version].at
                if last_updated_after and updated < last_updated_after:
                    continue
                if last_updated_before and updated > last_updated_before:
                    continue
                if channels and order.fulfilled_by not in channels:
                    continue
                if statuses and self._status(order, version) not in statuses:
                    continue
                hits.append((updated, order.order_id, order, version))
        hits.sort(key=lambda hit: (hit[0], hit[1]))
        return hits

    def render(self, hit: tuple[datetime, str, _Order, int], *, include_pii: bool = False) -> dict:
        """The payload of one `search_keys` hit."""
        with self._lock:
            return self._payload(hit[2], hit[3], include_pii)

    def get(self, account_id: str, order_id: str, *, include_pii: bool = False) -> dict | None:
        """The version of one order visible now, or None when the seller has no such (visible) order."""
        with self._lock:
            order = self._find(account_id, order_id)
            if order is None:
                return None
            version = order.version_at(self.clock.now())
            return None if version < 0 else self._payload(order, version, include_pii)

    def ground_truth(self, account_id: str, marketplace_id: str | None = None) -> dict[str, datetime]:
        """Order id -> lastUpdatedTime of every order of that seller (and marketplace) visible now."""
        seller = self.seller(account_id)
        now = self.clock.now()
        markets = [marketplace_id] if marketplace_id else list(seller.marketplace_ids)
        truth: dict[str, datetime] = {}
        with self._lock:
            self._ensure(now, account_id)
            for marketplace in markets:
                stream = self._streams.get((account_id, marketplace))
                if stream is None:
                    continue
                for bucket in stream.buckets.values():
                    for order in bucket:
                        version = order.version_at(now)
                        if version >= 0:
                            truth[order.order_id] = order.events[version].at
        return truth

    def delivered_at(self, account_id: str, order_id: str) -> datetime | None:
        """When the order was delivered, as far as is visible now; None if not (yet) delivered or unknown."""
        with self._lock:
            order = self._find(account_id, order_id)
            if order is None:
                return None
            version = order.version_at(self.clock.now())
            for event in order.events[: version + 1]:
                if event.kind == DELIVERED:
                    return event.at
            return None

    def marketplace_of(self, account_id: str, order_id: str) -> str | None:
        with self._lock:
            order = self._find(account_id, order_id)
            if order is None or order.version_at(self.clock.now()) < 0:
                return None
            return order.marketplace_id

    # --- solicitations --------------------------------------------------------------------------------------

    def solicitation_refusal(self, account_id: str, order_id: str) -> str | None:
        """Why a product-review-and-seller-feedback request is not allowed now (Amazon's message), or None."""
        with self._lock:
            if (account_id, order_id) in self._solicited:
                return "The requested solicitation is not available for this amazonOrderId."
            order = self._find(account_id, order_id)
            delivered = self.delivered_at(account_id, order_id)
            now = self.clock.now()
            if (
                order is None
                or delivered is None
                or self._status(order, order.version_at(now)) == "CANCELLED"
            ):
                return _OUTSIDE_WINDOW
            if not timedelta(days=5) <= now - delivered <= timedelta(days=30):
                return _OUTSIDE_WINDOW
            return None

    def record_solicitation(self, account_id: str, order_id: str) -> None:
        with self._lock:
            self._solicited[(account_id, order_id)] = self.clock.now()

    def solicited_orders(self, account_id: str) -> dict[str, datetime]:
        """Order id -> when a review request was accepted, for that seller."""
        with self._lock:
            return {oid: at for (acct, oid), at in self._solicited.items() if acct == account_id}

    # --- fault injection ------------------------------------------------------------------------------------

    def add_late_update(self, account_id: str, order_id: str, *, delay_seconds: float) -> datetime:
        """Move the order to its next lifecycle step now (or, when its life is over, have the seller set a
        seller order id), as a version whose lastUpdatedTime is now but which becomes visible only
        `delay_seconds` later. Later planned steps move back so they stay after it. Returns that
        lastUpdatedTime. Raises KeyError for an unknown or not yet visible order."""
        with self._lock:
            now = self.clock.now()
            order = self._require(account_id, order_id, now)
            at = _whole_seconds(now)
            visible = at + timedelta(seconds=delay_seconds)
            self._revision += 1
            future = [e for e in order.events if e.at > now and e.kind in _LIFECYCLE]
            if future:
                step = future[0]
                order.events.remove(step)
                step.at, step.visible_at, step.revision = at, visible, self._revision
                order.add_event(step)
                later = [e for e in order.events if e.at > now and e is not step]
                if later:
                    shift = max(timedelta(0), visible + timedelta(minutes=1) - later[0].at)
                    for event in later:
                        event.at += shift
                        event.visible_at += shift
                        event.revision = self._revision
            else:
                order.add_event(_Event(at, visible, TOUCHED, revision=self._revision))
            self._touched[order.order_id] = order
            return at

    def corrupt_order(self, account_id: str, order_id: str, how: str) -> None:
        """From now on the order is served broken `how` (one of CORRUPTIONS), as a new version visible at
        once. The JSON keeps the model's shape; only business rules break. Raises KeyError / ValueError."""
        if how not in CORRUPTIONS:
            raise ValueError(f"unknown corruption {how!r}; choose one of {sorted(CORRUPTIONS)}")
        with self._lock:
            now = self.clock.now()
            order = self._require(account_id, order_id, now)
            at = _whole_seconds(now)
            self._revision += 1
            order.add_event(_Event(at, at, CORRUPTED, how, self._revision))
            self._touched[order.order_id] = order

    # --- internals ------------------------------------------------------------------------------------------

    def _find(self, account_id: str, order_id: str) -> _Order | None:
        self.seller(account_id)
        self._ensure(self.clock.now(), account_id)
        order = self._by_id.get(order_id)
        return order if order is not None and order.account_id == account_id else None

    def _require(self, account_id: str, order_id: str, now: datetime) -> _Order:
        order = self._find(account_id, order_id)
        if order is None or order.version_at(now) < 0:
            raise KeyError(f"seller {account_id!r} has no visible order {order_id!r}")
        return order

    def _candidates(
        self, account_id: str, markets: Sequence[str], lower: datetime | None
    ) -> Iterable[_Order]:
        first_day = None if lower is None else _day_index(lower) - _MAX_LIFE_DAYS
        for marketplace in markets:
            stream = self._streams.get((account_id, marketplace))
            if stream is None:
                continue
            for day, bucket in stream.buckets.items():
                if first_day is None or day >= first_day:
                    yield from bucket
        for order in self._touched.values():
            if order.account_id == account_id and order.marketplace_id in markets:
                yield order

    def _ensure(self, now: datetime, account_id: str | None = None) -> None:
        """Generate every day bucket up to today's (of one seller's streams, or of all)."""
        last = _day_index(now)
        for (account, _), stream in self._streams.items():
            if account_id is not None and account != account_id:
                continue
            while stream.next_day <= last:
                orders = self._generate_day(stream, stream.next_day)
                stream.buckets[stream.next_day] = orders
                for order in orders:
                    self._by_id[order.order_id] = order
                stream.next_day += 1

    def _generate_day(self, stream: _Stream, day: int) -> list[_Order]:
        seller, market = stream.seller, stream.marketplace
        rng = random.Random(f"{self.seed}|{seller.account_id}|{market.marketplace_id}|{day}")
        day_start = _EPOCH + timedelta(days=day)
        offset = ZoneInfo(market.time_zone).utcoffset(day_start + timedelta(hours=12))
        offset_hours = round(offset.total_seconds() / 3600) if offset else 0
        weights = [_HOURLY_RHYTHM[(h + offset_hours) % 24] for h in range(24)]
        count = min(_poisson(rng, seller.orders_per_day), _SEQ_SPACE // 2 - 1)
        seconds = sorted(rng.choices(range(24), weights=weights, k=count))
        seconds = sorted(h * 3600 + rng.randrange(3600) for h in seconds)
        orders: list[_Order] = []
        for seq, second in enumerate(seconds):
            created = day_start + timedelta(seconds=second)
            original, replacement_at = self._make_order(stream, day, seq, created, None)
            if created < self._history_start:
                continue
            orders.append(original)
            if replacement_at is not None:
                orders.append(
                    self._make_order(stream, day, seq + _SEQ_SPACE // 2, replacement_at, original)[0]
                )
        return orders

    def _order_id(self, stream: _Stream, day: int, seq: int) -> tuple[str, int]:
        number = (day * _STREAM_SPACE + stream.index) * _SEQ_SPACE + seq
        scrambled = (number * _ID_MULTIPLIER + self.seed * 1_000_003) % _ID_SPACE
        country = stream.marketplace.country
        prefixes = _ORDER_ID_PREFIXES.get(country) or (
            _EU_PREFIXES if stream.marketplace.region == "eu" else ("171",)
        )
        digits = f"{scrambled:014d}"
        return f"{prefixes[number % len(prefixes)]}-{digits[:7]}-{digits[7:]}", number

    def buyer(self, account_id: str, marketplace_id: str, key: str) -> _Buyer:
        """The buyer behind a buyer key: name, relay address (the marketplace's domain) and language."""
        market = get_marketplace(marketplace_id)
        rng = random.Random(f"{self.seed}|buyer|{account_id}|{marketplace_id}|{key}")
        language = market.language.split("-")[0]
        firsts, lasts = _NAMES.get(language, _NAMES["en"])
        first, last = rng.choice(firsts), rng.choice(lasts)
        name = f"{last} {first}" if language == "ja" else f"{first} {last}"
        local = _encode(rng.getrandbits(80), "abcdefghijklmnopqrstuvwxyz0123456789", 15)
        return _Buyer(name, f"{local}@marketplace.{market.name.lower()}", language)

    def _make_order(
        self, stream: _Stream, day: int, seq: int, created: datetime, original: _Order | None
    ) -> tuple[_Order, datetime | None]:
        """One order and its planned life; also when its replacement order (if any) is placed."""
        seller, market = stream.seller, stream.marketplace
        rng = random.Random(f"{self.seed}|order|{seller.account_id}|{market.marketplace_id}|{day}|{seq}")
        order_id, number = self._order_id(stream, day, seq)
        currency = market.currency
        language = market.language.split("-")[0]
        if original is not None:
            buyer_key, fulfilled_by, business = (
                original.buyer_key,
                original.fulfilled_by,
                original.company is not None,
            )
        else:
            regulars = max(10, round(seller.orders_per_day * 3))
            buyer_key = f"regular-{rng.randrange(regulars)}" if rng.random() < 0.2 else f"new-{number}"
            fulfilled_by = "AMAZON" if rng.random() < 0.6 else "MERCHANT"
            business = rng.random() < 0.08
        prime = rng.random() < (0.55 if fulfilled_by == "AMAZON" else 0.1)
        programs = tuple(p for p, on in (("AMAZON_BUSINESS", business), ("PRIME", prime)) if on)
        service_level = (
            rng.choice(("NEXT_DAY", "SECOND_DAY", "STANDARD"))
            if prime
            else rng.choice(("STANDARD", "STANDARD", "STANDARD", "EXPEDITED", "FREE_ECONOMY"))
        )
        company = rng.choice(_COMPANIES.get(language, _COMPANIES["en"])) if business else None
        purchase_order = f"PO-{rng.randrange(10000, 99999)}" if business and rng.random() < 0.5 else None
        city, region, postal = rng.choice(_CITIES.get(market.country, (("Capital City", "", "10000"),)))
        street = rng.choice(_STREETS.get(language, _STREETS["en"]))
        # Lines: 1-4 distinct products, 1-3 each; prices in the marketplace currency.
        n_lines = 1 if original is not None else rng.choices((1, 2, 3, 4), weights=(62, 24, 10, 4))[0]
        if original is not None:
            picks = [original.lines[0].product]
        else:
            picks = rng.sample(range(len(_CATALOGUE)), n_lines)
        digits = minor_units(currency)
        promotion = original is None and rng.random() < 0.1
        charge_shipping = fulfilled_by == "MERCHANT" and not prime and original is None
        business_priced = business and rng.random() < 0.6
        lines: list[_Line] = []
        for index, product_index in enumerate(picks):
            product = _CATALOGUE[product_index]
            local_price = product.usd_price * _FX.get(currency, 1.0)
            if digits == 0:
                unit = max(10, round(local_price / 10) * 10 - 20)
            else:
                unit = int(local_price) * 10**digits + (10**digits - 1)
            if business_priced:
                unit = unit * 95 // 100
            if original is not None:
                unit = 0  # a replacement is free for the buyer
            quantity = 1 if original is not None else rng.choices((1, 2, 3), weights=(75, 18, 7))[0]
            discount = (unit * quantity) // 10 if promotion and index == 0 else 0
            shipping = (
                round(4.99 * _FX.get(currency, 1.0) * 10**digits) if charge_shipping and index == 0 else 0
            )
            lines.append(
                _Line(
                    item_id=f"{(number * 31 + index * 7_919) % _ID_SPACE:014d}",
                    product=product_index,
                    quantity=quantity,
                    unit_minor=unit,
                    business_price=business_priced,
                    discount_minor=discount,
                    shipping_minor=shipping,
                    promotion_id=f"{market.country}-SAVE10-{created:%Y%m}" if discount else "",
                )
            )
        carrier = rng.choice(_CARRIERS.get(market.country, (("DHL", "Express"),)))
        tracking_bits = rng.getrandbits(96)
        cancelled = original is None and rng.random() < 0.03
        cancel = rng.choice(_CANCEL_REASONS) if cancelled else None
        order = _Order(
            order_id,
            seller.account_id,
            market.marketplace_id,
            created,
            fulfilled_by,
            programs,
            service_level,
            buyer_key,
            company,
            purchase_order,
            (street, city, region, postal),
            lines,
            cancel,
            original.order_id if original else None,
            carrier,
            tracking_bits,
        )
        # The planned life, each step a version.
        order.events.append(_Event(created, created, CREATED))
        unshipped_at = created + timedelta(seconds=rng.randrange(20 * 60, 60 * 60))
        shipped_at = unshipped_at + timedelta(seconds=rng.randrange(12 * 3600, 48 * 3600))
        delivered_at = shipped_at + timedelta(seconds=rng.randrange(24 * 3600, 5 * 24 * 3600))
        plan: list[tuple[datetime, str]]
        if cancelled:
            cancel_at = created + timedelta(
                seconds=rng.randrange(5 * 60, int((shipped_at - created).total_seconds()))
            )
            plan = ([(unshipped_at, UNSHIPPED)] if unshipped_at < cancel_at else []) + [
                (cancel_at, CANCELLED)
            ]
        else:
            plan = [(unshipped_at, UNSHIPPED), (shipped_at, SHIPPED), (delivered_at, DELIVERED)]
        for at, kind in plan:
            visible = at
            if rng.random() < self._late_share:
                visible = at + timedelta(seconds=rng.randint(*self._late_delay))
            order.events.append(_Event(at, visible, kind))
        replacement_at = None
        if original is None and not cancelled and rng.random() < 0.02:
            replacement_at = delivered_at + timedelta(seconds=rng.randrange(2 * 86400, 12 * 86400))
        return order, replacement_at

    @staticmethod
    def _tracking_number(bits: int, carrier: str) -> str:
        if carrier == "UPS":
            return "1Z" + _encode(bits, "0123456789ABCDEFGHJKLMNPRSTUVWXYZ", 16)
        if carrier == "USPS":
            return f"9400{bits % 10**18:018d}"
        if carrier == "DHL":
            return f"JJD{bits % 10**18:018d}"
        return f"{bits % 10**13:013d}"

    def _status(self, order: _Order, version: int) -> str:
        status = "PENDING"
        for event in order.events[: version + 1]:
            if event.kind == UNSHIPPED:
                status = "UNSHIPPED"
            elif event.kind == SHIPPED:
                status = "SHIPPED"
            elif event.kind == CANCELLED:
                status = "CANCELLED"
        return status

    def _payload(self, order: _Order, version: int, include_pii: bool) -> dict:
        events = order.events[: version + 1]
        currency = get_marketplace(order.marketplace_id).currency
        market = get_marketplace(order.marketplace_id)
        status, shipped, delivered, cancelled, touched = "PENDING", None, None, False, False
        corruptions: set[str] = set()
        for event in events:
            if event.kind == UNSHIPPED:
                status = "UNSHIPPED"
            elif event.kind == SHIPPED:
                status, shipped = "SHIPPED", event.at
            elif event.kind == DELIVERED:
                delivered = event.at
            elif event.kind == CANCELLED:
                status, cancelled = "CANCELLED", True
            elif event.kind == TOUCHED:
                touched = True
            elif event.kind == CORRUPTED:
                corruptions.add(event.detail)

        def money(minor: int) -> dict:
            return {"amount": format_amount(minor, currency), "currencyCode": currency}

        items = []
        totals = {"ITEM": 0, "SHIPPING": 0, "DISCOUNT": 0}
        for line in order.lines:
            product = _CATALOGUE[line.product]
            language = market.language.split("-")[0]
            price: dict = {"unitPrice": money(line.unit_minor)}
            if line.business_price:
                price["priceDesignation"] = "BUSINESS_PRICE"
            subtotal = line.unit_minor * line.quantity
            breakdowns = [{"type": "ITEM", "subtotal": money(subtotal)}]
            if line.shipping_minor:
                breakdowns.append({"type": "SHIPPING", "subtotal": money(line.shipping_minor)})
            if line.discount_minor:
                breakdowns.append({"type": "DISCOUNT", "subtotal": money(-line.discount_minor)})
            totals["ITEM"] += subtotal
            totals["SHIPPING"] += line.shipping_minor
            totals["DISCOUNT"] -= line.discount_minor
            item: dict = {
                "orderItemId": line.item_id,
                "quantityOrdered": line.quantity,
                "product": {
                    "asin": product.asin,
                    "title": product.titles.get(language, product.titles["en"]),
                    "sellerSku": product.sku,
                    "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                    "price": price,
                },
                "proceeds": {
                    "proceedsTotal": money(subtotal + line.shipping_minor - line.discount_minor),
                    "breakdowns": breakdowns,
                },
                "fulfillment": {
                    "quantityFulfilled": line.quantity if shipped else 0,
                    "quantityUnfulfilled": 0 if shipped else line.quantity,
                },
            }
            if line.promotion_id:
                item["promotion"] = {"breakdowns": [{"promotionId": line.promotion_id}]}
            if cancelled and order.cancel:
                requester, cancelled_by, reason = order.cancel
                block: dict = {"cancellationExecution": {"cancelledBy": cancelled_by, "cancelReason": reason}}
                if requester:
                    block["cancellationRequest"] = {"requester": requester, "cancelReason": reason}
                item["cancellation"] = block
            items.append(item)

        grand_total = sum(totals.values())
        payload: dict = {
            "orderId": order.order_id,
            "createdTime": iso(order.created),
            "lastUpdatedTime": iso(events[-1].at),
            "programs": list(order.programs),
            "associatedOrders": (
                [{"orderId": order.replacement_of, "associationType": "REPLACEMENT_ORIGINAL_ID"}]
                if order.replacement_of
                else []
            ),
            "salesChannel": {
                "channelName": "AMAZON",
                "marketplaceId": order.marketplace_id,
                "marketplaceName": market.name,
            },
        }
        if touched:
            payload["orderAliases"] = [
                {"aliasId": f"ACME-{order.order_id[-7:]}", "aliasType": "SELLER_ORDER_ID"}
            ]
        if include_pii:
            person = self.buyer(order.account_id, order.marketplace_id, order.buyer_key)
            buyer: dict = {"buyerName": person.name}
            if order.fulfilled_by == "MERCHANT":
                buyer["buyerEmail"] = person.email  # the model: only merchant-fulfilled orders carry it
            if order.company:
                buyer["buyerCompanyName"] = order.company
            if order.purchase_order:
                buyer["buyerPurchaseOrderNumber"] = order.purchase_order
            payload["buyer"] = buyer
            street, city, region, postal = order.address
            address = {
                "name": person.name,
                "addressLine1": street,
                "city": city,
                "postalCode": postal,
                "countryCode": market.country,
                "addressType": "COMMERCIAL" if order.company else "RESIDENTIAL",
            }
            if order.company:
                address["companyName"] = order.company
            if region:
                address["stateOrRegion"] = region
            payload["recipient"] = {"deliveryAddress": address}
        payload["proceeds"] = {
            "grandTotal": money(grand_total),
            "breakdowns": [
                {"type": kind, "subtotal": money(amount)}
                for kind, amount in totals.items()
                if amount or kind == "ITEM"
            ],
        }
        ship_by = order.created + timedelta(days=2)
        payload["fulfillment"] = {
            "fulfillmentStatus": status,
            "fulfilledBy": order.fulfilled_by,
            "fulfillmentServiceLevel": order.service_level,
            "shipByWindow": {"earliestDateTime": iso(order.created), "latestDateTime": iso(ship_by)},
            "deliverByWindow": {
                "earliestDateTime": iso(ship_by + timedelta(days=1)),
                "latestDateTime": iso(ship_by + timedelta(days=7)),
            },
        }
        payload["orderItems"] = items
        if order.fulfilled_by == "MERCHANT" and shipped:
            carrier, service = order.carrier
            payload["packages"] = [
                {
                    "packageReferenceId": "1",
                    "createdTime": iso(shipped),
                    "packageStatus": {"status": "DELIVERED" if delivered else "IN_TRANSIT"},
                    "carrier": carrier,
                    "shippingService": service,
                    "trackingNumber": self._tracking_number(order.tracking_bits, carrier),
                    "shipTime": iso(shipped),
                    "packageItems": [
                        {"orderItemId": line.item_id, "quantity": line.quantity} for line in order.lines
                    ],
                }
            ]
        for how in sorted(corruptions):
            _corrupt(payload, how)
        return payload


def _corrupt(payload: dict, how: str) -> None:
    """Break a payload's business rules while keeping the model's JSON shape."""
    items = payload.get("orderItems") or []
    if how == "negative_quantity" and items:
        items[0]["quantityOrdered"] = -abs(items[0]["quantityOrdered"])
    elif how == "bad_amount":
        for money in _moneys(items[:1]) + _moneys([payload.get("proceeds", {}).get("grandTotal")]):
            amount = money["amount"]
            money["amount"] = (
                amount.replace(".", ",") if "." in amount else f"{amount[:-2] or '0'},{amount[-2:]}"
            )
    elif how == "missing_items":
        payload["orderItems"] = []
        payload.pop("packages", None)
    elif how == "bad_currency":
        for money in _moneys([payload]):
            money["currencyCode"] = money["currencyCode"] + "X"


def _encode(number: int, alphabet: str, length: int) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, len(alphabet))
        chars.append(alphabet[digit])
    return "".join(chars)


def _moneys(nodes: list) -> list[dict]:
    found: list[dict] = []
    stack = [n for n in nodes if n is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if set(node) == {"amount", "currencyCode"}:
                found.append(node)
            else:
                stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found
