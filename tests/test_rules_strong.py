"""Rules 1.4 and 1.5: strong threat cues (a conditional, veiled or announced statement + a target + an act; from
1.5 also a threat that says it is no joke, and intimidation by knowing someone's address, route or family) and how
triage acts on them. Examples written for this test; none comes from a labelled set."""

from __future__ import annotations

import pytest

from classifiers.base import Labels
from classifiers.rules import VERSION, RulesClassifier, analyse
from core.config import TriageConfig
from protocol.triage import triage

STRONG = [
    # conditional: "als ..., dan ..." with a target and an act
    ("Als meneer Bakker mij nog een keer uit de les stuurt, steek ik hem neer", "voorwaarde"),
    ("als die juf me weer een 2 geeft dan sla ik haar in elkaar", "voorwaarde"),
    ("Mocht de conrector mijn zoon schorsen, dan neem ik een mes mee", "voorwaarde"),
    # veiled, with a target
    ("Die mentor gaat het nog voelen, let maar op", "verhuld"),
    ("Jullie weten niet wat jullie te wachten staat, Ley College", "verhuld"),
    ("Meneer Visser, u bent gewaarschuwd.", "verhuld"),
    # announced act: "morgen neem ik ... mee"
    ("Morgen neem ik mijn vaders jachtgeweer mee naar school", "voornemen"),
    ("vrijdag na school kom ik die gozer uit 3b pakken", "voornemen"),
    # English and German: the Dutch model may not alert on them alone
    ("If that teacher at Ley College gives my son detention again, he will regret it", "verhuld"),
    ("if mr de wit fails me again i'm bringing a knife to school tomorrow", "voorwaarde"),
    ("Wenn dieser Lehrer meine Tochter noch einmal anschreit, dann schlage ich ihn zusammen", "voorwaarde"),
    # rules 1.5: more veiled phrases, German "wer ..., dem ...", broken bones, someone announced as armed
    ("Het zou zonde zijn als uw dochter op weg naar De Regenboog iets overkomt, meneer de Boer", "verhuld"),
    ("Als de directie zo doorgaat dan gebeurt er iets wat niemand wil, jullie horen het nog", "verhuld"),
    ("That headteacher at Ley College will regret this. I know people.", "verhuld"),
    ("Wenn der Direktor meinen Sohn rauswirft, wird er das bereuen", "verhuld"),
    ("Wer meine Schwester am Ley College anfasst, dem breche ich die Knochen", "voorwaarde"),
    ("als juf Petra mijn kind nog eens vernedert breek ik haar armen", "voorwaarde"),
    ("heads up, someone is bringing a gun to school on friday", "voornemen"),
    # rules 1.5: it says it is no joke, with an explosive or an act
    ("Eén fles benzine en het probleem Ley College is opgelost", "ernst"),
    ("dit is geen grap: vrijdag ligt er een bom in de aula van de school", "ernst"),
    # rules 1.5: knowing or asking where someone lives or rides, or their daily times, with a veiled closing line
    ("Wij kennen het adres van meneer Smit en zijn route naar school", "gevolgd"),
    ("Ik weet waar de conrector van het Bonifatius woont. Mooi hoekhuis.", "gevolgd"),
    ("weet iemand in welke straat die nieuwe scheikundeleraar van het Ley woont?", "gevolgd"),
    ("Mevrouw Yilmaz, uw Opel staat elke ochtend om 7.50 bij het hek. Gewoon even zeggen.", "gevolgd-detail"),
    # rules 1.6
    ("Ich weiß, in welchem Haus der Rektor vom Ley College wohnt.", "gevolgd"),
    ("Mevrouw de Wit, u woont toch op de Kastanjelaan? Zie u snel.", "gevolgd"),
    ("Die Lehrerin vom Ley College soll sich warm anziehen, sonst kracht es", "verhuld"),
    ("Het gaat niet goed aflopen met meneer Hoekstra van het Ley College", "verhuld"),
]
STAYS_NONE = [
    # jokey idioms with a trivial trigger in a joke, game or sport context (docs/labelling-guide.md)
    "als je mijn chips opeet ben je dood 😂",
    "ik vermoord je als je het einde van de serie verklapt haha",
    "als we zaterdag winnen maken we ze af in de finale ⚽",
    # a frame and a target but no act
    "Morgen neem ik taart mee voor de juf, ze is jarig!",
    "Als je vragen hebt over het rooster, kom dan langs bij de mentor",
    "If the teacher lets us go early tomorrow I'll be so happy",
    "Wenn die Schule morgen ausfällt, komme ich später",
    # a single word alone
    "mes",
    "wacht maar af",
    # self-directed hyperbole and everyday complaints
    "als ik nog één keer die bundel moet openen ga ik dood",
    "waarom is de wifi altijd kapot als je iets moet inleveren",
    "Wacht maar af tot het inspectierapport van de school verschijnt",
    # a knife for a cooking lesson
    "Morgen nemen we messen mee voor de kookles van meneer Ali",
    # rules 1.5: "als" as "like" or "as a", news about a threat, a spoiler, phrases without a threat
    "De musical sloeg in als een bom, trots op alle leerlingen van het Ley College!",
    "Als oud-leerling van het Ley College: die schoolfeesten waren echt de bom",
    "Anyone know if the bomb threat at Ley College was real? Saw it on the local news",
    "ik vermoord je als je verklapt wie de talentenjacht van school wint",
    "Wij weten niet waar de nieuwe gymzaal van de school komt",
    "Ik weet waar de sleutel van het fietsenhok ligt, vraag het de conciërge",
    "Het zou jammer zijn als de schoolreis van groep 8 niet doorgaat",
    "Dit is geen grap: de kantine van het Ley College heeft eindelijk gezonde broodjes",
    "Weet iemand hoe laat de bus naar het Ley College rijdt op zaterdag?",
    "Weet iemand waar juf Anouk van groep 4 woont? We willen een bloemetje brengen voor de baby",
]


def test_rules_are_version_1_6():
    assert VERSION == "1.6"


@pytest.mark.parametrize("text,name", STRONG)
def test_a_frame_a_target_and_an_act_is_a_strong_cue(text, name):
    h = analyse(text)
    assert name in [p.name for p, _ in h.strong], (text, h.strong)
    labels = RulesClassifier().label_one(text)
    assert labels.harm == "threat" and labels.scores[f"rules.strong.{name}"] == 1.0
    assert labels.cues, "the words that triggered it are named"


# rules 1.6: everyday phrases the threat patterns misread ("slopen" a building, "een bom energie", "petje af",
# "wacht maar af tot je ... ziet")
NO_THREAT_AT_ALL = [
    "Ze gaan eindelijk die oude gymzaal van het Ley College slopen, die lekt al jaren",
    "Wat een bom energie op de open dag van het Ley College!",
    "Tijdens de brandoefening bleven de examenkandidaten rustig hun werk afmaken. Petje af.",
    "Wacht maar af tot je de nieuwe bibliotheek van de school ziet, jullie worden er blij van",
]


@pytest.mark.parametrize("text", NO_THREAT_AT_ALL)
def test_everyday_phrases_are_no_threat_cue(text):
    h = analyse(text)
    assert h.threat == [] and h.strong == [], (h.threat, h.strong)


@pytest.mark.parametrize("text", STAYS_NONE)
def test_jokes_single_words_and_harmless_frames_are_no_strong_cue(text):
    assert analyse(text).strong == []


def _lab(pt: float, strong: str | None, lang_cue: str = "als ik hem sla") -> Labels:
    scores = {"harm.threat": pt, "harm.insult": 0.0, "harm.none": 1 - pt, "rules.threat": 0.0, "rules.insult": 0.0}
    if strong:
        scores[f"rules.strong.{strong}"] = 1.0
    return Labels("negative", "threat" if strong else "none", "bedreigen", scores, (lang_cue,) if strong else ())


def test_a_strong_cue_alerts_at_once_in_any_language_with_a_dutch_reason():
    cfg = TriageConfig()
    for lang in (None, "nl", "en", "de"):
        t = triage(_lab(0.3, "voorwaarde"), lang, cfg)
        assert (t.decision, t.urgency, t.kind) == ("alert", "urgent", "threat")
        assert "dreigende voorwaarde met doelwit" in t.reason and '"als ik hem sla"' in t.reason
    assert "verhulde dreiging met doelwit" in triage(_lab(0.3, "verhuld"), "en", cfg).reason
    assert "aangekondigde daad met doelwit" in triage(_lab(0.3, "voornemen"), "nl", cfg).reason
    # without the cue the same English post only goes to review (the Dutch model alone never alerts on it)
    assert triage(_lab(0.3, None), "en", cfg).decision == "review"


def test_a_strong_cue_the_model_does_not_back_goes_to_review_never_lost():
    cfg = TriageConfig(rules_strong_min=0.05)
    t = triage(_lab(0.01, "verhuld"), "nl", cfg)
    assert (t.decision, t.kind) == ("review", "threat")
    assert t.reason.startswith("Tegenstrijdig signaal")


def test_strong_cues_can_be_switched_off_and_their_threshold_comes_from_config():
    assert triage(_lab(0.3, "voorwaarde"), "en", TriageConfig(rules_strong=False)).decision == "review"
    cfg = TriageConfig(rules_strong_min=0.5, rules_alert_min=0.5)
    assert triage(_lab(0.3, "voorwaarde"), "nl", cfg).decision == "review"
    assert triage(_lab(0.3, "voorwaarde"), "nl", TriageConfig(rules_alert=False)).decision == "review"


def test_the_rules_backend_alerts_on_an_english_conditional_threat_and_not_on_a_joke():
    clf, cfg = RulesClassifier(), TriageConfig()
    threat = clf.label_one("if that teacher at Ley College fails my son again I'm bringing something sharp tomorrow")
    assert triage(threat, "en", cfg).decision == "alert"
    joke = clf.label_one("als je mijn chips opeet ben je dood 😂")
    assert triage(joke, "nl", cfg).decision != "alert"
