"""Rules backend: a Dutch lexicon and patterns for threats, insults and sentiment.

Explainable by construction: every harm label comes with the Dutch words that
triggered it (`Labels.cues`). Tuned for high recall on threats against staff,
pupils and the school; hard negatives ("de toets was moordend", "ik ga dood van
het lachen", news about a stabbing) are filtered before patterns fire.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from .base import Labels

NAME = "rules"
VERSION = "1.6"

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "@": "a", "$": "s", "5": "s"})
_REPEAT = re.compile(r"([a-z])\1{2,}")
_WS = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower-case, strip accents, undo leetspeak inside words, squeeze 'kankerrrr' to 'kankerr'."""
    t = unicodedata.normalize("NFKD", text or "")
    t = "".join(c for c in t if not unicodedata.combining(c))
    t = t.lower().replace("’", "'").replace("‘", "'")
    # leetspeak only inside words that also have letters ("k4nker", not "14 mei")
    t = re.sub(
        r"\b(?=\w*[a-z])(?=\w*[0-9@$])[\w@$]+\b",
        lambda m: m.group(0).translate(_LEET) if not m.group(0).isdigit() else m.group(0),
        t,
    )
    t = _REPEAT.sub(r"\1\1", t)
    return _WS.sub(" ", t).strip()


# --- vocabulary ---------------------------------------------------------------------------

STAFF = (
    r"(?:juf|juffrouw|meester|meneer|mnr|mevrouw|mevr|mw|leraar|lerares|leraren|docent|docente|docenten|"
    r"mentor|rector|conrector|directeur|directrice|directie|concierge|teamleider|decaan|"
    r"gymleraar|gymdocent|invaller|stagiair|\w+(?:leraar|lerares|docent|juf))"
)
PERSON = (
    rf"(?:{STAFF}|je|jij|jou|jullie|u|hem|haar|hij|zij|ze|iedereen|die|dat|dit|mensen|leerlingen?|"
    r"kinderen|broertje|zusje|klas)"
)
SCHOOL = r"(?:school|schoolgebouw|college|lyceum|gymnasium|atheneum|scholengemeenschap|klas|kantine|aula)"
_IK = r"(?:ik|k|ikke|we|wij|ff|i)"
_GA = r"(?:ga|gaan|gaat|gaa|zal|zullen|wil|moet|moeten|kom|komen)"

# curse prefixes used in compounds: "kankerhoer", "kk lul", "tyfusleraar"
CURSE = r"(?:kanker|kkr|kk|kenker|tering|tiering|tyfus|tiefus|klere|kolere|pest|kut|godver)"
# person nouns that a curse prefix turns into an insult: "kankerjoch", "kk gozer"
CURSE_PERSON = r"(?:joch|jong|gozer|vent|gast|kop|hond|aap|meid|mongool|kech|lul|wijf|hoer|lijer|lijder|kind|debiel)"
INSULT_NOUNS = (
    "hoer|hoeren|slet|sletje|trut|teef|kutwijf|wijf|bitch|klootzak|klootzakken|lul|eikel|sukkel|loser|"
    "debiel|randdebiel|idioot|imbeciel|mongool|mongolen|spast|spastje|spasst|kech|kneus|zak|ouwe zak|"
    "smeerlap|viezerik|pedo|heks|koe|varken|walvis|vetzak|vreetzak|dombo|muts|nietsnut|nepperd|"
    "leugenaar|oplichter|zakkenvuller|stinkerd|zwerver|hoerenloper|lijer|lijder|sloerie|baby|babytje|"
    "kankerlijer|teringlijer|tyfuslijer|kankerhoer|tyfushoer|teringhoer|teringwijf|kankerwijf|kankerkind|"
    "kut|kutje|nerd|gek|psychopaat|freak|aap|makaak|flikker|nicht|mietje|homo|terrorist|baviaan|"
    "kakkerlak|rat|hond|zwijn|kutmarokkaan|kuthomo|apekop|ongelovige|kafir|jood|zielepoot|lelijkerd|dikzak|"
    "vetklep|vetzak|mislukkeling|kankerjoch|teringjoch|tyfusjoch|clown|pias|ouwe zak"
)
# nouns that insult on their own after "echt/gewoon/zo'n/die" (not "zak", "hond", "baby", "nerd": too often literal or fond)
_MILD = {
    "zak",
    "hond",
    "koe",
    "baby",
    "babytje",
    "gek",
    "nerd",
    "aap",
    "rat",
    "kut",
    "varken",
    "nicht",
    "homo",
    "jood",
    "leugenaar",
    "kutje",
    "zwerver",
    "freak",
    "walvis",
    "clown",
    "pias",
    "ongelovige",
    "kafir",
}
INSULT_STRONG = "|".join(n for n in INSULT_NOUNS.split("|") if n not in _MILD)
INSULT_ADJ = (
    r"(?:dom|domme|dikke|vette|vieze|vuile|lelijk|lelijke|achterlijk|achterlijke|gestoord|gestoorde|"
    r"zielig|zielige|sneu|sneue|stom|stomme|debiele|waardeloze|incompetente|corrupte|luie|kale|"
    r"ouwe|ranzige|smerige|kanker|kk|kkr|tering|tyfus|kut)"
)
DISCRIM = (
    r"\b(?:makaak|aap|apen|baviaan|kutmarokkaan|marokkaan|turk|jood|joden|neger|nikker|zwarte|"
    r"flikker|nicht|mietje|homo|kuthomo|moslim|hoofddoek|terrorist|buitenlander|kafir|"
    r"eigen land|kakkerlak)\b"
)
SMEAR = (
    r"\b(?:zit aan (?:de )?(?:leerlingen|kinderen|meiden|meisjes|jongens)|pedofiel|pedo|relatie met een leerling|"
    r"steelt|dief|verkoopt drugs|dealt|drinkt in de klas|alcoholist|fraudeert|oplichter|zakkenvuller|sjoemelt|"
    r"racist|in (?:z'?n|zijn|haar) (?:eigen )?zak gestoken|ontslagen wegens|kindermishandeling|mishandelt|"
    r"(?:dronken|brak|stoned|high) voor de klas|"
    r"met (?:de )?(?:meisjes|meiden|leerlingen|kinderen|jongens)\b(?:\s+\S+){0,4}\s+(?:appt|appen|chat|chatten|afspreekt))\b"
)
# rumour markers: a weak insult cue (smearing spreads as "iedereen weet het", "deel dit")
RUMOUR = r"\b(?:iedereen weet (?:dat|het)|zeggen ze|ik heb het van iemand|google het maar|deel dit|delen!)"
# joke and game/sport context: hyperbolic idioms there are not threats (see docs/labelling-guide.md and docs/evaluation-history.md, round 2)
JOKE = re.compile(r"(?:😂|🤣|😆|😝|😜|😹|\bhaha\w*|\bhihi\w*|\blol\b|\bxd\b|\bgrapje\b|\bjk\b)")
GAME = re.compile(
    r"\b(?:fortnite|fifa|minecraft|mario ?kart|roblox|warzone|valorant|gamen|game|games|potje|squad|"
    r"wedstrijd|derby|toernooi|competitie|voetbal\w*|hockey\w*|basketbal\w*|korfbal\w*|volleybal\w*|"
    r"tegenstanders?|op het veld|uitwedstrijd|thuiswedstrijd|finale|trefbal\w*|schaak\w*|\w*toernooi\w*|"
    r"debat\w*|quiz|pubquiz|escape ?room|\w*finale)\b|🎮|⚽|🏀|🏑|🏐"
)
# weapons, also compounds and slang: "jachtgeweer", "gaspistool", "keukenmes", "blaffer", "klapper"
WEAPON = (
    r"(?:mes|mesje|messen|\w*(?:keuken|zak|vlinder|slagers|steek|stiletto)mes|\w*pistool|\w*geweer|luchtbuks|"
    r"vuurwapen|wapens?|bijl|machete|stiletto|blaffer|klapper|waffie|taser|boksbeugel)"
)
# real-harm words that keep an idiom a threat even in jest
REAL_HARM = re.compile(
    rf"\b(?:{WEAPON}|bom|bommen|brand|fik|gasfles\w*|vuurwerkbom\w*|"
    r"benzine|kogels?|knuppel)\b|🔪|🔫|💣|🩸|🧨"
)
# a clock time or a place at school named with the idiom: "ik vermoord je morgen om 8u bij de fietsenstalling 😂"
# is a threat (see docs/labelling-guide.md and docs/evaluation-history.md, round 2), "ik vermoord je als je het verklapt 😂" is not
TIME_PLACE = re.compile(
    r"\bom \d{1,2}(?:[:.]\d{2})?\b|\b\d{1,2}[:.]\d{2}\b|\b\d{1,2} ?u(?:ur)?\b|"
    r"\bbij (?:de|het) (?:fietsenstalling|hek|schoolhek|ingang|kluisjes|bushalte|gymzaal|kantine)\b|"
    r"\bna (?:school|schooltijd|het \w+ uur)\b|\bachter (?:de|het) (?:gymzaal|school|fietsenhok)\b"
)
# friendly context: a birthday, a surprise, a present, a parent teasing their own child, a neighbour's parcel
# (words, not smileys: "mooie rode jas had je vandaag aan 🙂" is stalking).
# A threat pattern there ("ik weet waar je woont", "die gaat het merken", "er gaat iets gebeuren") is only a
# weak cue unless a weapon, fire or explosive is named (the model decides; see docs/labelling-guide.md)
FRIENDLY = re.compile(
    r"(?:💐|🎂|🎉|🥳|🎈|🎁|\b(?:jarig|verjaardag|taart|verrassing\w*|"
    r"cadeau\w*|kaartje|slingers|ballonnen|feestje|pakketje|kerstkaart|gezellig|lieverd|"
    r"ik ben (?:je|zijn|haar|jullie) (?:moeder|vader|mama|papa|oma|opa)|x (?:mam|mama|pap|papa)\b|"
    r"(?:mijn|m'n) (?:zoon|dochter) leest mee|"
    r"(?:buurvrouw|buurman|buren|om de hoek)\b))"
)
# the patterns that are (also) everyday hyperbole: "ik vermoord je als je het verklapt 😂", "we maken ze af"
IDIOM_PATTERNS = {"doden", "maak-af", "is-dood", "moet-dood", "eraan", "kapot", "sla-kapot", "ga-slaan", "wacht-maar"}


@dataclass(frozen=True)
class Pattern:
    """One named regular expression over the normalised text."""

    name: str
    regex: re.Pattern[str]
    weight: float = 1.0  # 1.0: fires the label on its own; < 1: a weak cue (a feature for the model)
    kind: str | None = None


def _p(name: str, rx: str, weight: float = 1.0, kind: str | None = None) -> Pattern:
    for key, val in _PLACEHOLDERS.items():
        rx = rx.replace("{" + key + "}", val)
    return Pattern(name, re.compile(rx), weight, kind)


_W = r"(?:\s+\S+){0,4}?"  # up to four words in between
_W2 = r"(?:\s+\S+){0,2}?"
_PLACEHOLDERS = {"_W": _W, "_W2": _W2, "STAFF": STAFF, "SCHOOL": SCHOOL, "_IK": _IK}

THREAT_PATTERNS: tuple[Pattern, ...] = (
    # killing, stabbing, shooting
    _p(
        "doden",
        r"\b(?:vermoord|vermoorden|vermoordt|afmaken|afslachten|afgeslacht|kelen|wurgen|ophangen|"
        r"wurg|wurgt|neersteken|neer ?steken|neerschieten|neerknallen|doodschieten|doodsteken|doodmaken|overhoop "
        r"schieten|overhoop)\b",
    ),
    _p("maak-af", rf"\b(?:maak|maken|maakt)\b{_W}\s+(?:af|dood|kapot)\b"),
    _p("steek-neer", rf"\b(?:steek|steken|schiet|schieten|knal|knallen|schop|trap)\b{_W}\s+(?:neer|dood|overhoop)\b"),
    _p("steek", rf"\b{_IK}\s+(?:steek|stab)\s+(?:die|dat|je|jou|hem|haar|u|{STAFF})\b"),
    _p("moet-dood", r"\b(?:moet|moeten|mag|gaat|gaan|ga)\s+(?:\S+\s+)?dood\b(?!\s+van\b)"),
    _p("is-dood", r"\b(?:dan\s+(?:ben|is)\s+(?:je|jij|hij|ze|zij)|ben je|is (?:hij|ze))\s+dood\b"),
    _p(
        "eraan",
        r"\b(?:gaat|gaan|ga)\s+(?:\S+\s+){0,2}(?:eraan|eran)\b(?!\s+(?:werken|doen|denken))|\bis\s+(?:ze\s+|hij\s+)?(?:d'?r|haar|ze|hij)\s+geweest\b",
    ),
    _p(
        "leven",
        r"\b(?:leven niet (?:meer )?zeker|niet meer (?:lang )?leven|(?:het )?weekend (?:niet )?haalt|"
        r"doden vallen|gaat bloeden|gaan bloeden|laatste schooljaar|niet overleven)\b",
    ),
    _p("kogel", r"\b(?:kogel|kogels)\b"),
    # beating up
    _p("in-elkaar", rf"\b(?:sla|slaan|slaat|trap|trappen|ram|rammen|schop|schoppen|beuk|beuken)\b{_W}\s+in ?elkaar\b"),
    _p(
        "kapot",
        r"\b(?:kapotslaan|kapot slaan|kapotmaken|kapot maken|kapottrappen|sloop|slopen|aftuigen|"
        r"afrossen|afranselen|ontvoeren|in elkaar)\b",
    ),
    _p(
        "kop-in",
        rf"\b(?:kop|hoofd|hersens|hersenen|bek|smoel|tanden|benen|nek|neus)\b{_W2}\s+(?:in|inslaan|intrappen|"
        r"uit|breken|breek|kapot|om)\b|\b(?:breek|breken)\b{_W}\s+(?:benen|nek|armen)\b",
    ),
    _p(
        "klappen",
        r"\b(?:krijgt|krijg|geef|geven|verkopen?)\s+(?:\S+\s+)?(?:klappen|een klap|een pak slaag|"
        r"pak slaag|een mes|een kogel|klap|een dreun|een knal)\b|\bpak slaag\b",
    ),
    _p(
        "pakken",
        rf"\b(?:{_IK}|gaan|ga)\b{_W2}\s+(?:pakken|grijpen|opwachten|te pakken nemen|halen|vinden)\b"
        rf"(?!\s+(?:van|uit)\b)|\bopwachten\b|\bgaan we (?:hem|haar|je|die) halen\b",
    ),
    _p(
        "sla-kapot",
        r"\b(?:sla|slaan|slaat|trap|trappen|maak|maken|schop|schoppen)\b{_W}\s+(?:kapot|bont en blauw|verrot|lens|knock ?out|buiten westen)\b",
    ),
    _p(
        "ga-slaan",
        r"\b(?:{_IK}|ga|gaan)\s+(?:ga\s+|gaan\s+)?(?:\S+\s+){0,4}?(?:slaan|steken|neerslaan|fucken|kelen|grijpen|te grijpen|"
        r"te pakken|aanvallen|afknallen|raken|mollen|martelen)\b",
    ),
    _p("om-te", r"\bom\s+(?:\S+\s+){1,3}te\s+(?:grijpen|pakken|slaan|steken|vermoorden|raken|mollen)\b"),
    _p(
        "steen",
        r"\b(?:steen|stenen|baksteen|molotov)\b.*\b(?:raam|ruit|door|naar)\b|\b(?:ruiten|ramen|ruit)\s+(?:\S+\s+)?"
        r"(?:sneuvelen|sneuvelt|ingooien|ingegooid|ingaan|aan diggelen)\b|\b(?:gooi|gooien|gooit)\s+(?:\S+\s+){0,3}?(?:ruiten|ramen)\s+in\b",
    ),
    _p("lesje", r"\b(?:lesje leren|honkbalknuppel|knuppel|boksbeugel)\b"),
    # weapons, explosives, arson
    _p(
        "wapen-mee",
        rf"\b(?:{WEAPON}|gun|benzine|aansteker|vuurwerkbom|bom|bommen)\b{_W}\s+(?:mee|meenemen|meebrengen)\b|"
        rf"\b(?:neem|nemen|breng|brengen|kom|komen|ga|gaan)\b{_W}\s+(?:met|een|mijn|m'n|mn|zn|z'n)?\s*"
        rf"(?:\S+\s+)?(?:{WEAPON}|bom)\b|\b(?:heb|hebben|geregeld|gekocht|ligt klaar)\b{_W}\s+(?:een\s+)?"
        r"(?:blaffer|klapper|waffie|\w*pistool|\w*geweer|luchtbuks)\b|\b(?:blaffer|klapper|waffie|\w*pistool|\w*geweer)\b"
        r"(?:\s+\S+){0,3}\s+(?:geregeld|gekocht|ligt klaar|klaar)\b",
    ),
    _p(
        "mes-op",
        r"\b(?:mes|mesje)\s+(?:op|in)\b|\b(?:trek|trekken)\s+(?:\S+\s+)?mes\b|\bheb een (?:vuurwapen|pistool|mes|wapen)\b",
    ),
    _p(
        "bom",
        rf"\b(?:bom|bommen|explosief|explosieven)\b{_W}\s+(?:in|op|bij|onder)\b{_W}\s+(?:de\s+|het\s+)?(?:{SCHOOL}|\S+)"
        r"|\b(?:ligt|leggen|plaatsen|plaats)\s+(?:\S+\s+)?(?:een\s+)?bom\b",
    ),
    _p(
        "ontploffen",
        r"\b(?:opblazen|opgeblazen|de lucht in|aanslag|aanslagen|schietpartij|bloedbad)\b"
        rf"|\b(?:ontploft|ontploffen|blaas|blazen)\b(?=.*\b(?:{SCHOOL}|{STAFF}|jullie|iedereen|bom)\b)"
        rf"|\b(?:{SCHOOL}|{STAFF}|jullie|iedereen|bom)\b.*\b(?:ontploft|ontploffen|blaas|blazen)\b",
    ),
    _p(
        "brand",
        r"\b(?:in de fik|fik|fikken|afbranden|afbrandt|afgebrand|platbranden|platgebrand|plat branden|"
        r"brand(?!alarm|weer|oefening|melder|deur|trap)\w*\s+(?:\S+\s+){0,3}(?:af|plat)|branden|in brand|steek\w*\s+(?:\S+\s+){0,3}in brand)\b",
    ),
    _p(
        "aandoen",
        r"\b(?:wat aandoen|iets aandoen|pijn doen|laten boeten|gaat ervoor boeten|ga je boeten|"
        r"ervoor boeten|boeten)\b",
    ),
    _p(
        "wens-dood",
        r"\b(?:onder een (?:auto|trein|bus) komt|hoop dat (?:\S+\s+){1,5}(?:dood|sterft|afbrandt|"
        r"ontploft|verongelukt))\b",
    ),
    # veiled threats and intimidation
    _p(
        "wacht-maar",
        r"\b(?:wacht maar(?! af tot| tot)|let maar op|let op mijn woorden|je bent gewaarschuwd|jullie zijn gewaarschuwd|"
        r"zijn gewaarschuwd|wat (?:hem|haar|je|jou|u|jullie) te wachten staat|zal het (?:nog )?merken|"
        r"zullen het (?:nog )?merken|gaat het merken|spijt van krijgen|spijt krijgen|met wie (?:hij|ze|je|u) te maken)\b",
    ),
    # "pas op" only as a warning to a person ("pas maar op", "pas op jij", "die docent moet oppassen");
    # not "pas op zondag" (pas = only) nor "pas op bij het oversteken" (a warning about traffic)
    _p(
        "pas-op",
        rf"\bpas (?:jij |jullie |u )?maar op\b|\bpas (?:jij |jullie |u )?op(?:\s+(?:jij|jullie|hoor)\b|\s*[,!]*\s*{STAFF}\b|\s+je tellen\b|\s*[!.]*$)"
        rf"|\b(?:moet|moeten|kan|kunnen|zou|zouden|mag|mogen)\s+(?:\S+\s+){{0,2}}?(?:maar\s+|beter\s+|goed\s+)*oppassen\b(?!\s+(?:bij|met|voor|dat|op|in|tijdens|als (?:je|u|jullie|we))\b)",
    ),
    _p(
        "afrekenen",
        r"\b(?:afrekenen met|afrekening|kom (?:maar|dan|jij) (?:eens )?naar buiten\b(?=.*\b(?:dan|regelen|jij en ik|als je durft|durf)\b)|"
        r"regelen we (?:het|dat) (?:\S+\s+){0,2}?(?:buiten|na school|bij het hek|op straat)|"
        r"(?:buiten|na school|na het \w+ uur|bij het hek)\W+(?:\S+\s+){0,2}?(?:regelen|rekenen) we (?:het|dat|af))",
    ),
    # fuel or explosives that the writer has or brings, in a post about staff or the school
    _p(
        "brandstof",
        rf"^(?=.*\b(?:{STAFF}|{SCHOOL}|jullie|iedereen)\b)(?=.*\b(?:ik heb|heb ik|we hebben|hebben we|neem|breng|"
        r"liggen klaar|staan klaar|in de schuur|in mijn|in m'?n|gekocht)\b).*?(?P<cue>\b(?:gasfles\w*|jerrycans?|"
        r"benzine|molotov\w*|vuurwerkbom\w*|cobra'?s|explosieven|kunstmest)\b)",
    ),
    _p(
        "wens-val",
        r"\bmag (?:van mij )?(?:\S+\s+)?(?:doodvallen|verrekken|creperen|van de trap (?:af )?(?:donderen|vallen|flikkeren|kukelen)|"
        r"onder een (?:auto|bus|trein|tram))\b|\b(?:geef|geven) (?:ik )?(?:hem|haar|je|jou|die|ze) (?:wel |even |dan )?een (?:duwtje|zetje)\b",
    ),
    _p(
        "iets-gebeuren",
        r"\b(?:gaat|gebeurt|zal|gaan)\s+(?:er\s+)?(?:binnenkort\s+|morgen\s+|vrijdag\s+)?"
        r"(?:iets|wat)\s*(?:ergs|engs|gebeuren|ontploffen)?\b(?=.*\b(?:gebeur\w*|ergs|ontplof\w*|school|let)\b)"
        r"|\bongeluk(?:je)?\s+(?:met|gebeur\w*)\b|\bkomt er een ongeluk\b|\bgaat (?:het|t) knallen\b",
    ),
    _p("mensen-ken", r"\b(?:ik ken mensen|ken mensen die|jongens met wapens)\b"),
    _p(
        "stalken",
        r"\b(?:weet|weten)\s+(?:\S+\s+){0,3}waar (?:je|jij|u|jullie|hij|ze) (?:woont|wonen|woon|slaapt)\b|"
        r"\b(?:in de gaten|ik volg je|volg je al|we volgen je|we zien je|ik zie je elke|zien je elke|"
        r"foto'?s van (?:je|jouw|uw) huis|waar (?:je|uw) (?:kinderen|kids)|welke auto (?:je|u) rijdt|(?:je|uw) (?:kinderen|kids|dochter|zoon|vrouw|man) gezien|"
        r"bij (?:je|jouw|uw) (?:huis|raam|deur|voordeur)|hoe laat je (?:thuis|naar huis)|staat elke (?:avond|ochtend|dag)(?! vol))\b|"
        # knowing someone's times, car or route; having watched them unseen
        r"\b(?:ik|wij|we) (?:weet|weten)\s+(?:precies\s+|heus\s+|ook\s+|allang\s+|heel goed\s+)?(?:hoe laat|welke (?:auto|fiets|bus|route|deur|trein)|"
        r"in welke straat|op welk nummer)\s+(?:\S+\s+){0,3}?(?:je|jij|u|jullie|hij|ze|zij)\b|"
        r"\bik zie alles\b|\b(?:vanaf de straat|door (?:je|jouw|uw|het) raam|voor (?:je|jouw|uw) (?:deur|huis|raam))\b|"
        r"\bachter (?:je|jou|u) aan\b|\b(?:zat|zit|stond|sta|liep|fietste|reed)\s+(?:\S+\s+){0,5}?achter (?:je|jou|u)\b"
        r"(?=.*\b(?:merkte|merkt|niet eens|doorhad|door had|gezien)\b)|"
        r"\bmooi(?:e)? (?:huis|huisje|auto|jurkje)\b.*\b(?:toch|heeft u|hoor|juf|meneer)\b",
        kind="stalken",
    ),
    # emoji: knife, gun, bomb, explosion, blood, coffin, skull-and-crossbones
    _p("emoji", r"(?:🔪|🗡|🔫|💣|🩸|⚰|☠|🧨)"),
    _p("emoji-vuur", r"🔥.*\b(?:branden|fik|school)\b|\b(?:branden|fik)\b.*🔥", 0.6),
)

# Weak threat cues: not enough alone, but features for the model.
WEAK_THREAT = (
    _p("wapen", r"\b(?:mes|mesje|messen|pistool|wapen|wapens|vuurwapen|bom|bommen|geweer|bijl)\b", 0.4),
    _p("dood", r"\bdood\b", 0.3),
    _p("geweld", r"\b(?:slaan|steken|schieten|vechten|klap|klappen|bloed)\b", 0.3),
    _p("gaan-doen", r"\b(?:ik ga|ga ik|wij gaan|we gaan|morgen|morge|vrijdag|na school|na schooltijd)\b", 0.2),
)

# --- strong threat cues (rules 1.4): a frame, a target and an act together --------------------
# A conditional ("als ..., dan ..."), veiled ("wacht maar af", "die gaat het nog voelen") or announced
# ("morgen neem ik ... mee") statement that names a target (the school, staff, a pupil, "jullie") and a
# harmful act or weapon. One word alone never makes one. Dutch, English and German: the threats the Dutch
# model reads but may not alert on alone (docs/triage.md) are mostly English and German ones.
# a person a threat can be aimed at (staff, a pupil, you, him, her; nl, en, de)
_PERSON = (
    rf"\b(?:{STAFF}|jullie|je|jou|jij|u|hem|haar|die (?:jongen|gozer|gast|meid|brugklasser|leerling)|"
    r"teacher|headteacher|principal|headmaster|mr|mrs|ms|miss|sir|you|him|her|them|lehrer\w*|direktor\w*|"
    r"rektor\w*|schulleiter\w*|dich|ihn|euch)\b"
)
# a target: a person, the school, or anyone named ("die \w+", "whoever", "that guy")
_TARGET = rf"(?:{_PERSON}|\b(?:{SCHOOL}|die \w+|head|school|kid|guy|whoever|schule|typ)\b)"
_ACT = (
    rf"\b(?:{WEAPON}|bom|bommen|fik|in brand|slaan|sla|steek|steken|schiet|schieten|afmaken|maak \S+ af|"
    r"afgemaakt|kapot(?:slaan|maken|trappen)|(?:sla|maak|trap) \S+ kapot|in elkaar|pijn|bloeden|vermoord\w*|"
    r"dood(?:maken|steken|schieten)|(?:steek|schiet|maak) \S+ dood|mollen|aftuigen|opwachten|wacht ik \S+ op|pakken|"
    r"grijpen|iets aandoen|wat aandoen|fysiek|stokken|"
    r"knife|knives|gun|guns|something sharp|kill|stab|shoot|hurt|beat (?:\S+ )?up|smash|end (?:him|her|you|them|u)|"
    r"bomb|burn|set fire|"
    r"messer|waffe|pistole|schlage|schlagen|zusammenschlagen|umbringen|bringe? (?:dich|ihn|sie|euch) um|"
    r"abstechen|erschiessen|erschießen|verletzen|bombe|anzunden|anzünden|"
    # rules 1.5: broken bones, kicking, finishing someone off, fuel for arson (nl, en, de)
    r"botten|(?:benen|armen|nek|kaak|neus|vingers) (?:breken|breek)|breek (?:\S+ ){0,2}(?:benen|armen|nek|kaak|neus)|"
    r"benzine|jerrycans?|gasfles\w*|molotov\w*|"
    r"kick(?:ed|ing)? (?:\S+ ){0,2}in|head kicked|punch\w*|stabb\w*|shot|"
    r"breche|brechen|knochen|(?:mache|machen|macht) (?:\S+ ){0,3}fertig|fertigmachen|kaputt ?schlagen)\b"
)
# "als" as a condition, not as "like"/"as a" ("sloeg in als een bom", "als oud-leerling", "als wiskundeleraar"):
# followed by a pronoun, an article, a title or a name with "nog"/"weer" (rules 1.5)
_ALS = (
    r"als(?=\s+(?:je|jij|u|hij|ze|zij|die|dat|dit|er|ik|k|we|wij|jullie|iemand|iemands|de|het|mijn|m'?n|onze|ons|"
    r"zijn|haar|hun|uw|meneer|mevrouw|juf|meester|nog|ooit|morgen|weer|\w+\s+(?:nog|ooit|weer|opnieuw))\b)"
)
_CONDITION = rf"\b(?:{_ALS}|mocht|indien|if|whoever|next time|one more time|wenn|falls|nochmal|noch einmal|wer)\b"
_INTENT = (
    r"\b(?:(?:morgen|overmorgen|maandag|dinsdag|woensdag|donderdag|vrijdag|straks|binnenkort|volgende week|"
    r"na school|vanavond)\b(?:\s+\S+){0,4}?\s+(?:neem|breng|kom|ga|nemen|brengen|komen|gaan)\s+(?:ik|k|we|wij)|"
    r"(?:ik|k|we|wij)\s+(?:neem|breng|kom|nemen|brengen|komen)\b(?:\s+\S+){0,4}?\s+(?:morgen|overmorgen|maandag|"
    r"dinsdag|woensdag|donderdag|vrijdag|straks|binnenkort|volgende week|na school|vanavond)|"
    r"i'?m bringing|i'?ll bring|i will bring|i'?m coming|i'?ll come|i will come|gonna|"
    r"ich (?:bringe|komme|nehme)|morgen (?:bringe|komme|nehme) ich|"
    # somebody else announced as bringing a weapon (rules 1.5)
    r"(?:someone|somebody|he|she|they|iemand|hij|zij|jemand|er)(?:'s| is| are| gaat| wird)? (?:bringing|brengt|neemt|bringt) "
    r"(?:\S+ ){0,2}?(?:gun|knife|bomb|wapen|mes|pistool|bom|waffe|messer|pistole|bombe)\w*)\b"
)
_VEILED = (
    r"\b(?:(?:gaat|gaan|zal|zullen) het (?:nog )?(?:voelen|merken)|"
    r"(?:weet|weten) niet wat (?:hem|haar|je|jou|u|jullie|ze) te wachten staat|spijt (?:van )?krijgen|krijgt spijt|"
    r"(?:bent|zijn|is) gewaarschuwd|aan de beurt|op mijn (?:eigen )?manier|recht in eigen hand|laatste waarschuwing|"
    r"beter niet (?:meer )?(?:naar school )?(?:kan |kunnen )?komen|ik vergeet niets|"
    r"appeltje (?:\S+ ){0,3}te schillen|"
    r"regret it|watch (?:his|her|your|their|ur) back|better watch out|what'?s coming|last warning|"
    r"(?:you'?ve|you have|you'?re|you are) been warned|won'?t be walking|you have (?:a|kids|children)|it'?s over for|"
    r"teach (?:\S+ ){0,4}a lesson|see what happens|i know where (?:you|he|she|they) (?:live|lives|park|parks)|"
    r"i know (?:which|what time|when)|"
    r"(?:wird|werdet|wirst|werden) es (?:noch )?bereuen|pass(?:t)? (?:bloss |bloß |besser |mal |gut )?auf|"
    r"besser aufpassen|wo (?:ihr|du) mich findet|ich (?:weiss|weiß) (?:genau |auch )?(?:wo|wann)|letzte warnung|"
    r"dann knallt es|knallt es|gut uberlegen|gut überlegen|"
    # rules 1.6: "dann kracht es", "wäre schade drum", "het gaat niet goed aflopen met ..."
    r"(?:dann )?kracht es|es wird krachen|ware schade (?:drum|darum|um (?:dich|ihn|sie))|"
    r"(?:gaat|zal|loopt) (?:het )?niet goed aflopen met|"
    # rules 1.5: "it would be a pity if something happened to him", "something nobody wants will happen",
    # "will regret this", "I know people", "watch yourselves", "dann passiert was"
    r"(?:zou|zal|is|wordt) (?:toch |wel |best )?(?:zonde|jammer|vervelend|naar|sneu|erg) (?:zijn |wezen )?als "
    r"(?:\S+ ){0,8}?(?:iets|wat) (?:\S+ )?(?:overkomt|overkwam|overkomen|gebeurt|gebeurde|gebeuren)|"
    r"gebeurt er (?:iets|wat) (?:wat|dat) (?:niemand|je|jij|jullie|u) (?:wil|wilt|willen)|"
    r"(?:uitkijken|oppassen|opletten) als (?:hij|ze|zij|je|jij|u) (?:\S+ ){0,5}?(?:naar huis|fietst|loopt|rijdt|thuiskomt)|"
    r"(?:will|gonna|going to|'ll) regret (?:this|it|that)|watch yourselves|watch (?:your|ur) step|i know people|"
    r"should(?:'ve| have) thought twice|knows? what (?:he|she|they|you) did|"
    r"(?:wird|werdet|wirst|werden) (?:er |sie |du |ihr )?(?:das|es) (?:noch )?bereuen|dann passiert (?:was|etwas)|ich (?:weiss|weiß),? wo)\b"
)
# rules 1.5: a seriousness marker or a "solution" with a harmful act ("geen grap", "dit keer een echte",
# "het probleem is opgelost", "niemand zal het missen"): veiled when an act or explosive is named
_SERIOUS = (
    r"\b(?:geen grap|ik meen het|nooit meer vergeten|dit keer (?:een )?echte|no joke|not joking|i mean it|"
    r"kein witz|ich meine es ernst|(?:probleem|problem) (?:\S+ ){0,5}?(?:is |zijn )?(?:opgelost|solved)|"
    r"niemand (?:zal|gaat) (?:het|hem|haar|ze|die \w+) missen|nobody (?:will|would) miss)\b"
)
_BANG = rf"(?:{_ACT}|\bknal\b|\bbommelding\b|💥|💣|🔥)"
# rules 1.5: knowing or asking where someone lives, parks or rides, their children's class, photos of their
# house: intimidation the labelling guide calls stalking (a target is named by the possessive)
_WATCHING = (
    r"\b(?:(?:ik|wij|we|i|ich) (?:weet|weten|ken|kennen|know|kenne|weiß|weiss) (?:\S+ ){0,3}?"
    r"(?:uw|je|jouw|zijn|haar|jullie|your|his|her|their|deine?n?|seine?n?|ihre?n?) (?:\S+ )?"
    r"(?:adres\w*|huis|woning|route|kinderen|kids|dochter|zoon|auto|rooster|werktijden|address|house|schedule|"
    r"children|car|adresse|haus|kinder)|"
    r"(?:ik|wij|we|i|ich) (?:weet|weten|ken|kennen|know|kenne) (?:\S+ ){0,2}?(?:het|de|the|die) (?:adres\w*|huisadres|route|address|adresse) (?:van|of|von)|"
    r"(?:ik|wij|we) heb(?:ben)? (?:\S+ ){0,2}foto'?s van (?:het huis|zijn huis|haar huis|uw huis|je huis|"
    r"zijn kinderen|haar kinderen|uw kinderen|je kinderen)|"
    r"(?:weet iemand|wie weet|does anyone know|who knows|weiß jemand|weiss jemand) (?:\S+ ){0,8}?"
    r"(?:waar|welke auto|in welke straat|op welk (?:adres|nummer)|where|which street|wo|in welcher strasse) (?:\S+ ){0,7}?"
    r"(?:woont|wonen|parkeert|lives|parks|wohnt|parkt)|"
    r"(?:uw|je|jouw) (?:\S+ )?(?:zoon|dochter|kinderen|kids) (?:\S+ ){0,6}?(?:groep|klas) \d(?=.*\btoch\b)|"
    r"i'?ve been watching|i know (?:her|his|their|your) (?:\S+ )?schedule|where (?:she|he|they) parks|"
    r"(?:ik|wij|we|i|ich) (?:weet|weten|know|weiß|weiss)(?! niet| nicht| not)(?: \S+){0,3}? (?:waar|welke (?:weg|route|auto)|"
    r"hoe laat|where|which (?:way|road|car)|what time|wo|wann) (?:\S+ ){0,8}?"
    r"(?:woont|wonen|parkeert|fietst|rijdt|lives|parks|drives|wohnt|parkt|fahrt|fährt)|"
    r"ik weet (?:hem|haar|je|jou|u|jullie) (?:wel )?te vinden|i know where to find|ich weiß,? wo ich (?:dich|ihn|sie) finde|"
    # rules 1.6: "u woont toch op de Lindelaan?", "ich weiß, in welchem Haus / wann dein Bus ..."
    r"(?:u|je|jij) woont toch (?:op|in|aan|bij|naast)|you live (?:on|at|in) .{0,30}\bright\b|"
    r"ich (?:weiss|weiß),? (?:genau )?(?:in welchem|in welcher|wann (?:dein|deine|ihr|sein|seine)|welchen? (?:bus|weg|auto)))\b"
)
# rules 1.5: an everyday detail of someone's life (a clock time, their car, house, route or family) with a
# veiled closing line ("gewoon even zeggen", "fijn om te weten", "wij zien u", "denkt u nog eens na")
_DETAIL = (
    r"(?:\b\d{1,2}[:.]\d{2}\b|\bom \d{1,2} uur\b|\belke (?:dag|ochtend|middag|avond|week|maandag|dinsdag|woensdag|"
    r"donderdag|vrijdag)\b|\b(?:auto|huis|huisje|voordeur|straat|route|weg|bushalte|fietsenrek|rooster|vrouw|zoontje|"
    r"dochtertje|kinderen|car|house|street|wife|kids|auto|haus|frau|kinder)\b)"
)
_CLOSER = (
    r"\b(?:gewoon (?:even|ff) (?:zeggen|melden|laten weten)|fijn om te weten|goed om te weten|(?:wij|we|ik) zien (?:u|je|jou|jullie)|"
    r"ik zie (?:u|je|haar|hem) (?:heus |echt )?wel|weet het (?:alleen )?nog niet|eenzame weg|"
    r"denk(?:t)? (?:u|je|jij) (?:er )?(?:nog eens|goed|twee keer) (?:over )?na|denk goed na over|niet met woorden|"
    r"just saying|nice to know|good to know|we see you|wir sehen (?:dich|sie|euch)|nur so als info|"
    r"(?:zie|zien|tot) (?:u|je|jou|jullie) (?:snel|gauw|binnenkort)|see you soon|bis bald)\b"
)
# an everyday reason for a knife or a "bring": a cooking lesson, a craft, a play
_PROPS = re.compile(
    r"\b(?:kookles|koken|keuken|snijden|groente|fruit|appel|taart|knutsel\w*|practicum|toneel\w*|rekwisiet\w*|"
    r"musical|verkleed\w*|kostuum|cooking|baking|cake|costume|play|kochen|kuchen|theater)\b"
)
# "wacht maar af" is veiled only towards a person (`_PERSON`): "wacht maar af, die nieuwe regel houdt het geen maand
# vol" about the school is a prediction (rules 1.6)
_WAIT = r"\bwacht (?:jij |u |jullie )?maar af\b(?! tot)"
STRONG_THREAT: tuple[Pattern, ...] = (
    Pattern("voorwaarde", re.compile(rf"^(?=.*{_TARGET})(?=.*{_ACT}).*?(?P<cue>{_CONDITION}.*)$"), 1.0),
    Pattern("verhuld", re.compile(rf"^(?=.*{_TARGET}).*?(?P<cue>{_VEILED})"), 1.0),
    Pattern("verhuld", re.compile(rf"^(?=.*{_PERSON}).*?(?P<cue>{_WAIT})"), 1.0),
    Pattern("voornemen", re.compile(rf"^(?=.*{_TARGET})(?=.*{_ACT}).*?(?P<cue>{_INTENT})"), 1.0),
    Pattern("ernst", re.compile(rf"^(?=.*{_TARGET})(?=.*{_BANG}).*?(?P<cue>{_SERIOUS})"), 1.0),
    Pattern("gevolgd", re.compile(rf"(?P<cue>{_WATCHING})"), 1.0),
    Pattern("gevolgd-detail", re.compile(rf"^(?=.*{_DETAIL}).*?(?P<cue>{_CLOSER})"), 1.0),
)
# the Dutch a comms officer reads for each strong cue (protocol.triage shows it in the reason)
STRONG_NL = {
    "voorwaarde": "dreigende voorwaarde met doelwit",
    "verhuld": "verhulde dreiging met doelwit",
    "voornemen": "aangekondigde daad met doelwit",
    "ernst": "dreiging die zegt geen grap te zijn",
    "gevolgd": "dreigende kennis van adres, route of gezin",
    "gevolgd-detail": "dreigende kennis van adres, route of gezin",
}


# rules 1.5: English and German news about a threat, and a trivial trigger (a spoiler), for the strong cues only
# (REPORTING and JOKE also shape the rule features the heads read, so they stay as they were)
_REPORTED = re.compile(
    r"\b(?:(?:the|a) bomb threat|on the (?:local )?news|news (?:said|says|reported)|police (?:said|say|says)|"
    r"bombendrohung|in den nachrichten|laut polizei)\b"
)
_TRIVIAL = re.compile(r"\b(?:verklap\w*|spoil\w*|verrat\w*)\b")
# a kind purpose for knowing where someone lives ("een bloemetje bezorgen", "met de thee klaar", "de sponsorloop")
_KIND_PURPOSE = re.compile(
    r"\b(?:bloem\w*|kaartje|kaart sturen|cadeau\w*|baby|beterschap|felicit\w*|bedank\w*|sponsor\w*|collecte|thee|"
    r"flowers|card|gift|congratulat\w*|blumen|geschenk)\b"
)


def strong_threat(t: str, h: RuleHits) -> list[tuple[Pattern, str]]:
    """The strong threat cues of a normalised, hard-negative-cleaned text: none in a joke, game, report,
    friendly or prop context unless a weapon, fire or explosive is named (docs/labelling-guide.md)."""
    weapon = bool(REAL_HARM.search(t) or re.search(r"\b(?:knife|knives|gun|guns|messer|waffe|pistole|bomb|bombe)\b", t))
    if h.reporting or _REPORTED.search(t):
        return []
    if (JOKE.search(t) or GAME.search(t) or FRIENDLY.search(t) or _TRIVIAL.search(t)) and not weapon:
        return []
    if _PROPS.search(t) and not TIME_PLACE.search(t):
        return []
    hits = []
    for p, cue in _find(STRONG_THREAT, t):
        if p.name.startswith("gevolgd") and _KIND_PURPOSE.search(t) and not weapon:
            continue
        cue = cue.strip()
        hits.append((p, cue if len(cue) <= 60 else cue[:60].rsplit(" ", 1)[0] + " ..."))
    return hits


# Hard negatives: matches are blanked before the threat patterns run.
HARD_NEGATIVES = re.compile(
    r"\b(?:ik\s+)?(?:ga|ging|gaat|gaan|ben|was|lig|lag|schrok|schrik|schrokken|verveel)\s+(?:me\s+|mij\s+|bijna\s+|echt\s+|"
    r"helemaal\s+|zowat\s+)*dood(?:\s+van\s+(?:het\s+|de\s+)?\w+|\s*(?:😂|🤣|haha|lol))?|"
    r"\bmoordend\w*|\bdood(?:moe|op|ziek|eng|gewoon|leuk|normaal|stil)\b|\b(?:mijn|m'n|de) dood\b|"
    r"\bafmaken\s+(?:\S+\s+)?(?:van|voor)\b|\bopdracht\w*\b[^.!?]*\baf(?:maken)?\b|\b(?:huiswerk|werkstuk|taak|pws)\b[^.!?]*\bafmaken\b|"
    r"\bmaken ze af op het veld\b|\b(?:is|was) (?:echt )?de bom\b|\bbom(?:men)? (?:op|in) (?:rotterdam|de stad)\b|"
    r"\bgaan we knallen\b|\bknallen[!]|\bschiet(?:en)? (?:even|ff|snel|nog even|echt)\s+(?:naar|op|een)\b|"
    r"\bschiet (?:\S+\s+)?op met\b|\b(?:vermoord|vermoorden)\s+mezelf\b|\bhoofd ontploft\b|\bontploft van\b|"
    r"\bmaken ze (?:af|in)\b|\b(?:ik\s+)?(?:ga|gaan)\s+(?:\S+\s+)?(?:naar de (?:krant|rechter|inspectie|politie))\b|"
    r"\b\w*(?:toets|examen|tentamen)\w*\b[^.!?]*\b(?:bloedbad|slachtpartij)\b|"
    r"\b(?:gaat|gaan|zal|zullen|gaat|komt)\s+(?:me|mij)\s+(?:\S+\s+){0,2}?(?:vermoorden|afmaken|doodmaken|killen)\b|\bvermoordt (?:me|mij)\b|"
    r"\bgaat eraan als\b|\bsloop(?:t|te)? (?:me|mij)\b|\bgesloopt\b|\bpas op voor\b|\bpas op je\b|\bafgemaakt\b|\bafgebrand bij\b|"
    r"\b(?:scriptie|verslag|essay|werkstuk|huiswerk|project|boek|serie|puzzel|opdracht)\w*\b[^.!?]*\bafmaken\b|"
    r"\bafmaken\b[^.!?]*\b(?:scriptie|verslag|essay|werkstuk|huiswerk|project|boek|serie|puzzel)\b|"
    r"\bafgebrand\b[^.!?]*\b(?:rode pen|rood|cijfer|docent|leraar|juf)\b|\b(?:rode pen|verslag|essay|werkstuk)\b[^.!?]*\bafgebrand\b|"
    r"\b(?:zaal|dansvloer|feest|publiek|dj)\b[^.!?]*\bin de fik\b|\bin de fik\b[^.!?]*\b(?:bunsenbrander|practicum)\b|"
    r"\bschiet (?:me|mij) een (?:ongeluk|breuk)\b|\baanslag op (?:mijn|m'n|mn|ons|onze|je|de portemonnee)\b|"
    r"\b\w*(?:toets|examen|tentamen|proefwerk|rooster|overhoring)\w*\s+(?:\S+\s+){0,3}?(?:heeft|ging|gaat|was)\s+(?:me|mij|ons)\s+"
    r"(?:\S+\s+){0,2}?(?:vermoord|de nek om|afgemaakt|gesloopt|de das om)\b|"
    r"\b(?:die|deze|de|dat|het)\s+\w*(?:toets|examen|tentamen|proefwerk)\w*\s+(?:\S+\s+){0,3}?(?:vermoorden|afmaken|slopen)\b|"
    r"\b(?:escape ?room|spel|level|game|puzzel)\b[^.!?]*\bafmaken\b|"
    r"\b(?:bouwvakkers?|renovatie|verbouwing|aannemer|sloopwerk\w*|nieuwbouw)\b[^.!?]*\b(?:slopen|sloop)\w*|"
    r"\b(?:slopen|sloop)\w*\b[^.!?]*\b(?:bouwvakkers?|renovatie|verbouwing|aannemer|nieuwbouw|noodlokalen|vleugel)\b|"
    # rules 1.6: a building torn down, "een bom energie/geld", "petje af" (praise)
    r"\b(?:slopen|sloop)\w*\s+(?:die|dat|de|het)\s+(?:hele\s+|oude\s+)?(?:gymzaal|gebouw|schoolgebouw|kantine|toiletten|"
    r"wc'?s|aula|fietsenhok|noodlokalen?|lokalen?)\b|\b(?:gymzaal|gebouw|schoolgebouw|kantine|aula|fietsenhok|noodlokalen?)\b"
    r"(?:\s+\S+){0,5}?\s+(?:slopen|gesloopt)\b|\bbom (?:energie|geld|stress|werk|ideeen|talent|plezier)\b|"
    r"\b(?:petje|hoedje|pet) af\b"
)

# Reporting context: a news item about violence is not a threat by its author.
REPORTING = re.compile(
    r"\b(?:in het nieuws|nieuws over|in de krant|voorlichting|uitleg|opgepakt|aangehouden|geschrokken|vreselijk|"
    r"heftig|eng hoor|wat eng|sterkte|politie gaf|agenten|wijkagent|workshop|les over|protocol|thriller|"
    r"middeleeuwen|explosieve reacties|bommelding in|brandoefening|ontruiming|vuurwerk(?:show)?|"
    r"neergestoken|steekpartij|vechtpartij|een bedreiging bij|"
    # someone reporting, quoting or condemning a threat, a drill, a hoax
    r"\w*oefening|brandalarm|schaam je|hou op|houd op|zo praat je niet|dit soort (?:taal|berichten|dreigementen|uitspraken)|"
    r"roepen dat|riep(?:en)?|ik las|las ik|aldus|gaat rond|bleek|blijkt|politie (?:is )?ingelicht|heeft het gemeld|gemeld bij|kettingbrief|"
    r"vroeg (?:\S+\s+)?of)\b"
)
# a threat cue inside quotation marks: somebody's words reported ("roepen dat die leraar 'een kogel verdient'")
QUOTED = re.compile(r"(?:^|(?<=[\s(:]))['\"“‘„]([^'\"”’“]{3,160}?)['\"”’](?=[\s.,:;!?)]|$)")

INSULT_PATTERNS: tuple[Pattern, ...] = (
    _p(
        "curse-compound",
        rf"\b{CURSE}\s?(?:{STAFF}|{CURSE_PERSON}|"
        r"moslim|turk|marokkaan|homo|jood|buitenlander|school|directie)\b",
    ),
    _p("echt-een", rf"\b(?:echt|gewoon|zo'?n|die|dat|wat een)\s+(?:een\s+)?(?:\S+\s+)?(?:{INSULT_STRONG})\b"),
    _p(
        "is-een",
        rf"\b(?:is|bent|ben|zijn|was|blijft)\s+(?:echt\s+|gewoon\s+|zo\s+|ook\s+)?(?:een|zo'?n|n|een echte)\s+"
        rf"(?:\S+\s+){{0,3}}?(?:{INSULT_NOUNS})\b",
    ),
    _p("van-een", rf"\b(?:{INSULT_NOUNS})\s+van\s+een\b"),
    _p("wat-een", rf"\bwat (?:een|n)\s+(?:\S+\s+){{0,2}}?(?:{INSULT_NOUNS})\b"),
    _p(
        "slur-person",
        rf"\b(?:{INSULT_ADJ}\s+)?(?:hoer|slet|trut|kutwijf|klootzak|mongool|kech|debiel|randdebiel|"
        r"lijer|kankerlijer|teringlijer|tyfuslijer|kankerhoer|tyfushoer|teringwijf|kankerkind|"
        r"spast|spastje|flikker|makaak|kutmarokkaan|pedo|smeerlap|hoerenloper|bitch|sloerie|teef)\b",
    ),
    _p(
        "adj-person",
        rf"\b(?:dikke vette|vieze|vuile|lelijke|achterlijke|domme|kanker|kk|kkr|tering|tyfus)\s+"
        rf"(?:{STAFF}|koe|zak|muts|wijf|aap|varken|homo|jood|zwerver|nerd|loser)\b",
    ),
    _p(
        "zo-lelijk",
        r"\bzo (?:lelijk|dik|dom|vies|stom|achterlijk|sneu|zielig)\b(?=.*\b(?:niemand|iedereen|echt|haha|lol|"
        r"heks|loser)\b|.*(?:🤮|🤢|🐷|🐄|🐳|🤣|😂))",
    ),
    _p(
        "monster",
        r"\b(?:echt |gewoon |zo'?n )?(?:een )?(?:monster|lelijkerd)\b(?=.*(?:😂|🤣|🤮|🤢|\blelijk\w*|\bhaha\w*|\blol\b))",
    ),
    _p("emoji-pesten", r"(?:🐷|🐖|🐄|🐳|🤮|🤢|🐒|🦍|🦭|🐋|🐘|🤡)", 0.6),
    _p("roddel", RUMOUR, 0.6),
    _p("oprotten", r"\b(?:oprotten|rot op|opkankeren|opsodemieteren|terug naar je eigen land|moet weg van school)\b"),
    _p("smear", SMEAR),
    _p(
        "uitlachen",
        r"\b(?:iedereen lacht (?:hem|haar) uit|niemand wil (?:naast|met|die|dat|hem|haar)|geen vrienden|iedereen haat|"
        r"lachen (?:hem|haar) uit|hoort er niet bij|zonder (?:\w+ )?want)\b",
        0.6,
    ),
    _p(
        "uitsluiten",
        r"^(?=.*(?:\b(?:stinkt|stinken|vies|raar|lelijk|dik|dom|lol|haha\w*|nerd|loser|sneu)\b|🤓|🤣|😂))"
        r".*?(?P<cue>\b(?:iedereen lacht (?:hem|haar) uit|niemand wil (?:naast|met) (?:hem|haar)|"
        r"heeft (?:weer )?geen vrienden|iedereen haat (?:hem|haar|\w+)|niemand wil (?:die|dat) \w+|lachen (?:hem|haar) uit)\b)",
    ),
    _p("apposition", rf",\s*(?:een|zo'?n)\s+(?:\S+\s+){{0,2}}?(?:{INSULT_NOUNS})\b"),
)

# Profanity as an intensifier ("kanker moeilijk", "kutweer") is not an insult to a person.
PROFANITY_ONLY = re.compile(
    rf"\b{CURSE}\s?(?:weer|dag|toets|toetsweek|moeilijk|goed|saai|vroeg|laat|huiswerk|les)\b|"
    r"^(?:kut|shit|fuck|kanker|tering)\b[,!]"
)

POSITIVE = re.compile(
    r"\b(?:trots|geweldig\w*|fantastisch\w*|prachtig\w*|mooi\w*|leuk\w*|fijn\w*|top|toppers?|toppie|super|dank\w*|"
    r"bedankt|gefeliciteerd|felicitaties|blij|gaaf|gave|vet|heerlijk\w*|knap|bravo|complimenten?|respect|"
    r"lief|lieve|liefste|allerliefste|schattig|tof|toffe|succes|goed gedaan|goed geregeld|enthousiast|"
    r"geslaagd|gewonnen|beste|de bom|killer|knaller|knallen|opgebloeid|genoten|aanrader|kippenvel|lachen|"
    r"gelachen|dubbel|grappig|legt (?:het )?(?:top|goed) uit|snap ik|helpt|geholpen|behulpzaam|gered|"
    r"excellente?|strak|moeite waard)\b|(?:👏|😍|🥰|❤️|❤|🎉|🎓|🏆|💪|😊|🙌|👍|⭐)"
)
NEGATIVE = re.compile(
    r"\b(?:boos|woedend|belachelijk\w*|schandalig|slecht\w*|waardeloos|waardeloze|chaos|drama|ramp|triest|"
    r"teleurgesteld|oneerlijk\w*|klaar mee|zat|baal|balen|onvoldoende\w*|zakken|gezakt|niks|niets|nooit|"
    r"kapot|stress|huilen\w*|huilt|gepest|pesten|lesuitval|uitval|smerig|vies|vieze|te duur|te vol|"
    r"geen\b|ongelooflijk|gek van|moe van|schaam|eng|vreselijk\w*|heftig|geschrokken|saai|onredelijk|"
    r"onaardig|streng|klacht\w*|bezwaar|levensgevaarlijk|lekkend\w*|moordend|dood|afgang|hopeloos|"
    r"kwijt\w*|pff+|zonde|gedoe|afgebrand|gesloopt|shit|fuck|kut\w*|kanker\w*|mijn dood|bloedbad|"
    r"slachtpartij|mislukt|niet te doen|niet normaal|ergeren|irritant|jammer)\b|(?:🙄|🙃|😡|😤|😢|😭|😠)"
)
SARCASM = re.compile(
    r"(?:🙄|🙃|\becht niet\b|\bniet dus\b|\b(?:top|goed bezig|super|geweldig|fijn|fantastisch)\b"
    r"[^.!?]*\b(?:weer|alweer|weer eens|geen|kapot|kwijt|te laat)\b|\b(?:weer|alweer|geen|kapot|kwijt)\b"
    r"[^.!?]*\b(?:top school|goed bezig|super\.?$|fijne school))"
)
NEUTRAL_HINT = re.compile(
    r"\?|\b(?:weet iemand|wie heeft|morgen|vanaf|informatie|inschrijving|rooster|"
    r"studiedag|gesloten|verplaatst|nieuwsbrief|let op|herinnering|aanmelden)\b"
)


@dataclass
class RuleHits:
    """What the rules found in one text."""

    threat: list[tuple[Pattern, str]] = field(default_factory=list)
    strong: list[tuple[Pattern, str]] = field(default_factory=list)  # a frame + a target + an act (rules 1.4)
    weak_threat: list[tuple[Pattern, str]] = field(default_factory=list)
    insult: list[tuple[Pattern, str]] = field(default_factory=list)
    reporting: bool = False
    joking: bool = False  # only idioms, in a joke or game/sport context, no weapon, no staff
    friendly: bool = False  # a threat pattern in a friendly context (birthday, surprise, parent), no weapon
    hard_negative: bool = False
    profanity: bool = False
    positive: int = 0
    negative: int = 0
    sarcasm: bool = False
    neutral_hint: bool = False
    staff: bool = False

    def threat_score(self) -> float:
        """The threat patterns' score (the heads' feature; strong cues are read apart, see `strong_score`)."""
        s = max((p.weight for p, _ in self.threat), default=0.0)
        return s * (0.5 if self.reporting or self.joking or self.friendly else 1.0)

    def strong_score(self) -> float:
        """1.0 when a strong threat cue (a frame, a target and an act) was found, else 0."""
        return 1.0 if self.strong else 0.0

    def insult_score(self) -> float:
        return max((p.weight for p, _ in self.insult), default=0.0)

    def features(self) -> list[float]:
        """A small numeric view of the hits, appended to the embedding for the model heads."""
        weak = sum(p.weight for p, _ in self.weak_threat)
        return [
            self.threat_score(),
            min(weak, 1.0),
            self.insult_score(),
            float(self.reporting),
            float(self.hard_negative),
            float(self.joking),
            float(self.profanity),
            min(self.positive, 3) / 3,
            min(self.negative, 3) / 3,
            float(self.sarcasm),
            float(self.neutral_hint),
            float(self.staff),
            float(self.friendly),
        ]


N_FEATURES = len(RuleHits().features())


# Patterns that pair two cues with `.*` cost time quadratic in the text's length (a 1 MB post took
# minutes). A text longer than WINDOW is read in windows of WINDOW characters that overlap by half, so
# every stretch of WINDOW / 2 characters is read whole and the cost grows linearly.
WINDOW = 4000


def _windows(text: str) -> list[str]:
    if len(text) <= WINDOW:
        return [text]
    step = WINDOW // 2
    return [text[i : i + WINDOW] for i in range(0, len(text) - step, step)]


def _find(patterns: Sequence[Pattern], text: str) -> list[tuple[Pattern, str]]:
    out = []
    windows = _windows(text)
    for p in patterns:
        m = next((m for w in windows if (m := p.regex.search(w))), None)
        if m:
            cue = m.groupdict().get("cue") or m.group(0)
            out.append((p, cue.strip()))
    return out


def analyse(text: str) -> RuleHits:
    """Run every pattern over one text."""
    t = normalise(text)
    h = RuleHits()
    h.hard_negative = bool(HARD_NEGATIVES.search(t))
    cleaned = HARD_NEGATIVES.sub(" ", t)
    h.reporting = bool(REPORTING.search(cleaned))
    h.threat = _find(THREAT_PATTERNS, cleaned)
    quoted = " | ".join(QUOTED.findall(cleaned))
    if h.threat and quoted and all(cue in quoted for _, cue in h.threat):
        h.reporting = True
    h.weak_threat = _find(WEAK_THREAT, cleaned)
    h.staff = bool(re.search(rf"\b{STAFF}\b", t))
    h.joking = (
        bool(h.threat)
        and all(p.name in IDIOM_PATTERNS for p, _ in h.threat)
        and not h.staff
        and bool(JOKE.search(t) or GAME.search(t))
        and not REAL_HARM.search(t)
        and not TIME_PLACE.search(t)
    )
    h.friendly = bool(h.threat) and bool(FRIENDLY.search(t)) and not REAL_HARM.search(t)
    h.strong = strong_threat(cleaned, h)
    h.profanity = bool(PROFANITY_ONLY.search(t))
    h.insult = _find(INSULT_PATTERNS, PROFANITY_ONLY.sub(" ", t))
    h.positive = len(POSITIVE.findall(t))
    h.negative = len(NEGATIVE.findall(t))
    h.sarcasm = bool(SARCASM.search(t))
    h.neutral_hint = bool(NEUTRAL_HINT.search(t))
    return h


def harm_kind(h: RuleHits, harm: str, text: str) -> str | None:
    """The protocol's finer kind for a harm label, from the hits."""
    t = normalise(text)
    if harm == "threat":
        kinds = {p.kind for p, _ in h.threat if p.weight >= 1.0}
        return "stalken" if kinds == {"stalken"} else "bedreigen"
    if harm == "insult":
        if re.search(SMEAR, t):
            return "zwartmaken"
        if re.search(DISCRIM, t):
            return "discriminatie"
        return "kwetsen" if h.staff else "pesten"
    return None


def sentiment_scores(h: RuleHits) -> dict[str, float]:
    """A lexicon estimate of sentiment, used when no model is loaded."""
    pos, neg = float(h.positive), float(h.negative)
    if h.sarcasm:
        pos, neg = 0.0, neg + 1.5
    if h.threat or h.insult:
        neg += 2.0
    neu = 0.8 + (0.7 if h.neutral_hint else 0.0)
    z = [pos, neu, neg]
    total = sum(z) or 1.0
    return {"positive": z[0] / total, "neutral": z[1] / total, "negative": z[2] / total}


def harm_scores(h: RuleHits) -> dict[str, float]:
    """Rule-based harm probabilities (coarse)."""
    t, i = max(h.threat_score(), h.strong_score()), h.insult_score()
    t = min(t, 1.0)
    i = min(i, 1.0) * (1 - t)
    return {"none": max(0.0, 1 - t - i), "insult": i, "threat": t}


def rule_scores(h: RuleHits, threat: bool = True, insult: bool = True) -> dict[str, float]:
    """What triage reads from the rules: `rules.threat`, `rules.insult`, and per strong cue `rules.strong.<name>`."""
    out = {"rules.threat": round(h.threat_score(), 4) if threat else 0.0}
    out["rules.insult"] = round(h.insult_score(), 4) if insult else 0.0
    if threat:
        out.update({f"rules.strong.{p.name}": 1.0 for p, _ in h.strong})
    return out


def cues(h: RuleHits, harm: str) -> tuple[str, ...]:
    """The Dutch words that triggered a harm label (deduplicated, in pattern order)."""
    hits = h.strong + h.threat if harm == "threat" else h.insult if harm == "insult" else []
    seen: list[str] = []
    for p, s in hits:
        s = s.strip(" ,.;:!?")
        if p.weight >= 0.5 and s and s not in seen:
            seen.append(s)
    # "echt een sukkel" adds nothing next to "is echt een sukkel"
    return tuple(c for c in seen if not any(c != o and c in o for o in seen))


class RulesClassifier:
    """Lexicon-and-pattern classifier: explainable, offline, no model files."""

    name = NAME
    version = VERSION

    def __init__(self, threat_threshold: float = 1.0, insult_threshold: float = 1.0) -> None:
        self.threat_threshold = threat_threshold
        self.insult_threshold = insult_threshold

    def label_one(self, text: str, h: RuleHits | None = None) -> Labels:
        """Classify one text (optionally reusing its hits)."""
        h = h or analyse(text)
        harm = "none"
        if max(h.threat_score(), h.strong_score()) >= self.threat_threshold:
            harm = "threat"
        elif h.insult_score() >= self.insult_threshold:
            harm = "insult"
        sent = sentiment_scores(h)
        scores = {f"sentiment.{k}": round(v, 4) for k, v in sent.items()}
        scores.update({f"harm.{k}": round(v, 4) for k, v in harm_scores(h).items()})
        scores.update(rule_scores(h))
        return Labels(
            sentiment=max(sent, key=sent.__getitem__),
            harm=harm,
            harm_kind=harm_kind(h, harm, text),
            scores=scores,
            cues=cues(h, harm),
            classifier=f"{self.name}/{self.version}",
        )

    def classify(self, texts: Sequence[str]) -> list[Labels]:
        return [self.label_one(t) for t in texts]
