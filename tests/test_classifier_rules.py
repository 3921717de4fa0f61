"""Behaviour of the rules backend and of the default classifier users rely on."""

from __future__ import annotations

import pytest

from classifiers import ClassifierConfig, ClassifierError, load_classifier
from classifiers.base import HARM_KINDS, HARMS, SENTIMENTS, Labels
from classifiers.rules import RulesClassifier, normalise

THREATS = [
    "Ik steek die leraar morgen neer",  # direct
    "Als meneer Smit me weer laat zakken maak ik hem af",  # conditional
    "Die juf weet niet wat haar te wachten staat",  # veiled
    "Ik weet waar je woont meneer, ik zie je elke ochtend",  # watched / stalking
    "wallah ik ga die docent kapotslaan na school",  # slang
    "morge neem k een mes mee naar skool voor die mentor",  # misspelling
    "🔪🔪 meneer de Groot",  # emoji
    "Er ligt volgende week een bom in de aula",  # explosives
    "Ik zet die school in de fik",  # arson
]
HARD_NEGATIVES = [
    "de toets was echt moordend",
    "ik ga dood van het lachen",
    "Ik schrok me dood van mijn rapport",
    "Die nieuwe gymleraar is echt de bom",
    "Ik schiet even naar de kantine",
    "Voorlichting over messen en wapens voor groep 8",
]
ANGRY_COMPLAINTS = [
    "Belachelijk dat de school weer niks doet, ik ben woedend!",
    "Slechtste communicatie ooit, ik dien een klacht in bij de inspectie",
    "Die docent is onredelijk streng en geeft oneerlijke cijfers",
]
INSULTS = [
    "Meneer Jansen is een vuile kankerlijer",
    "wat een kutwijf is die juf",
    "Lisa uit 2B is een dikke vette koe 🐷",
    "die mentor is een kkr mongool",
]


@pytest.fixture(scope="module")
def rules() -> RulesClassifier:
    return RulesClassifier()


@pytest.mark.parametrize("text", THREATS)
def test_rules_flag_threats(rules, text):
    lab = rules.classify([text])[0]
    assert lab.harm == "threat", text
    assert lab.cues, "a threat must say which words triggered it"
    assert lab.harm_kind in ("bedreigen", "stalken")


@pytest.mark.parametrize("text", HARD_NEGATIVES + ANGRY_COMPLAINTS)
def test_rules_leave_hard_negatives_and_complaints_alone(rules, text):
    assert rules.classify([text])[0].harm == "none", text


@pytest.mark.parametrize("text", INSULTS)
def test_rules_flag_insults_with_cues(rules, text):
    lab = rules.classify([text])[0]
    assert lab.harm == "insult", text
    assert lab.cues and all(isinstance(c, str) and c for c in lab.cues)


def test_kinds(rules):
    by = {
        t: rules.classify([t])[0].harm_kind
        for t in [
            "Ik weet waar je woont juf, mooi huis hoor",
            "Die leraar is een vieze makaak",
            "Lotte uit 1C is een lelijke slet",
            "Meneer Bakker is een dief, hij steelt geld van de klas",
        ]
    }
    assert list(by.values()) == ["stalken", "discriminatie", "pesten", "zwartmaken"]


def test_profanity_as_intensifier_is_not_an_insult(rules):
    assert rules.classify(["Kutweer voor de sportdag", "die toets was kanker moeilijk"])[1].harm == "none"
    assert rules.classify(["Kutweer voor de sportdag"])[0].harm == "none"


def test_normalise_undoes_leetspeak_and_repeats():
    assert normalise("K4NKERRRR Lééraar") == "kankerr leeraar"
    assert normalise("14 mei") == "14 mei"


def test_contract_shapes(rules):
    texts = ["Top school!", "", "Ik maak je af", "Morgen studiedag"]
    out = rules.classify(texts)
    assert len(out) == len(texts)
    assert all(isinstance(x, Labels) and x.sentiment in SENTIMENTS and x.harm in HARMS for x in out)
    assert all(x.harm_kind is None or x.harm_kind in HARM_KINDS for x in out)
    assert out[2].harm == "threat" and out[0].harm == "none"
    assert out[0].classifier == "rules/" + rules.version
    assert rules.classify([]) == []


def test_rules_sentiment_lexicon(rules):
    pos, neu, neg = rules.classify(
        [
            "Wat een geweldige musical, zo trots! 👏",
            "De ouderavond is verplaatst naar donderdag.",
            "Belachelijk, weer lesuitval, ik ben woedend",
        ]
    )
    assert (pos.sentiment, neu.sentiment, neg.sentiment) == ("positive", "neutral", "negative")


def test_load_classifier_backends():
    assert load_classifier(ClassifierConfig(backend="rules")).name == "rules"
    with pytest.raises(ClassifierError, match="unknown backend"):
        load_classifier(ClassifierConfig(backend="gpt"))


# Rules 1.2 and 1.3: false alarms that the round-4 blind sets showed (see docs/evaluation-history.md, "Round 4"), and the threats
# that must survive those fixes (a smiley does not make stalking friendly; "op mijn moeder" is an oath).
REPORTED_OR_FRIENDLY = [
    "Morgen ontruimingsoefening: rond 10 uur gaat het brandalarm af, de kinderen verzamelen op het plein",
    "Iemand riep in de reacties dat die school 'in de fik moet'. Schaam je, zo praat je niet over een school.",
    "die wiskundetoets heeft me echt vermoord vandaag 💀",
    "De bouwvakkers zijn vandaag begonnen met het slopen van de oude vleugel",
    "Ik schiet me een ongeluk met dat nieuwe ouderportaal",
    "Buurvrouw, je pakketje staat bij ons! Ik weet waar je woont, dus ik breng het zo langs",
    "De fietsenstalling staat elke ochtend vol met scooters van bezoekers",
    "Vrijdag gaan we ze slopen in de debatfinale, succes team!",
    "Meester Henk is morgen jarig en die gaat het merken: het hele lokaal hangt vol slingers",
    "Het rooster van deze week is echt een aanslag op mijn geduld",
    "De dames van de kantine zijn top, elke dag verse soep",
    "ik maak je af als je het einde van de serie verklapt 😂",
]
STILL_THREATS = [
    "Ik zie je elke ochtend fietsen langs het kanaal Noor, mooie groene jas had je vandaag aan 🙂",
    "Ik zweer het op mijn moeder, ik sla die mentor in elkaar als ik hem buiten zie",
    "als jij dat filmpje deelt dan steek ik je neer",
    "Meneer Visser, mooie zilveren Volvo heeft u. Staat elke avond tot zes uur achter de school.",
    "we gaan die leraar afmaken na de toetsweek, hij heeft me laten zakken",
    "Stond gisteravond bij je raam Fleur, het lampje was nog aan 😘",
    # rules 1.3: a time or place makes a joking idiom a threat; weapons in compounds and slang; windows
    "ik maak je af morgen om 8 uur bij de kluisjes 😂",
    "heb een luchtbuks gekocht, maandag ben ik op school",
    "die van mij heeft een blaffer geregeld voor vrijdag",
    "er gaan ruiten sneuvelen bij die school als ze niet luisteren",
    "vrijdag 12:00 een verrassing voor de hele school 🧨",
]


@pytest.mark.parametrize("text", REPORTED_OR_FRIENDLY)
def test_rules_leave_drills_quotes_test_idioms_and_friendly_posts_alone(rules, text):
    assert rules.classify([text])[0].harm == "none", text


@pytest.mark.parametrize("text", STILL_THREATS)
def test_rules_still_flag_stalking_with_a_smiley_and_oaths(rules, text):
    lab = rules.classify([text])[0]
    assert lab.harm == "threat" and lab.cues, text
