"""Dutch school posts the shipped classifier gets wrong, for the feedback-retraining test.

Written for the project (not real posts). Three kinds of mistake, each split into posts a person
corrects (`CORRECTED`, stored as feedback) and similar posts nobody corrected (`HELD_OUT`, used
only to measure):
- veiled intimidation and stalking of staff that the classifier reads as harmless (a missed threat);
- school activities and hyperbole with violent words that it reads as a threat or an insult (a false alarm);
- cheerful activity posts it reads as negative (a wrong sentiment).
Rows: (text, sentiment, harm, harm_kind).
"""

from __future__ import annotations

Row = tuple[str, str, str, "str | None"]

CORRECTED: list[Row] = [
    # missed threats
    ("die rector moet maar eens goed uitkijken als hij vanavond naar huis fietst", "negative", "threat", "bedreigen"),
    (
        "ik neem morgen mn broer z'n ding mee naar school, dan zien we wel wie er lacht",
        "negative",
        "threat",
        "bedreigen",
    ),
    ("volgende week staat er een verrassing voor meneer de Vries bij zijn voordeur", "negative", "threat", "bedreigen"),
    ("ik zie die meester wel een keer alleen, dan praten we verder", "negative", "threat", "bedreigen"),
    ("die mentor moet maar hopen dat zijn ramen heel blijven dit weekend", "negative", "threat", "bedreigen"),
    ("die conciërge moet vanavond maar goed zijn deur op slot doen", "negative", "threat", "bedreigen"),
    (
        "die docent heeft nog een paar dagen om zijn excuses aan te bieden, daarna is het te laat voor hem",
        "negative",
        "threat",
        "bedreigen",
    ),
    ("ik weet hoe laat die mentor zijn kinderen van de opvang haalt", "negative", "threat", "stalken"),
    ("ik heb foto's van het huis van die juf, ze weet het alleen nog niet", "negative", "threat", "stalken"),
    ("ik heb zijn kenteken genoteerd, die gymleraar hoort nog van me", "negative", "threat", "stalken"),
    (
        "vrijdag na het laatste uur gaan we die mentor eens gezellig opzoeken met z'n vijven",
        "negative",
        "threat",
        "bedreigen",
    ),
    ("het is maar goed dat die leraar niet weet wie ik ben", "negative", "threat", "bedreigen"),
    ("de gymleraar moet vanavond maar niet de fiets pakken", "negative", "threat", "bedreigen"),
    ("die leraar zijn dochter zit op de basisschool hier om de hoek toch", "negative", "threat", "stalken"),
    ("die juf rijdt in een rode polo toch? zou zonde zijn als die ineens kapot is", "negative", "threat", "bedreigen"),
    # false alarms
    ("de brandweer kwam vandaag langs om de kinderen te leren blussen", "positive", "none", None),
    ("de kinderen hebben vandaag schieten geoefend bij de handboogvereniging", "positive", "none", None),
    ("ik sterf bijna van de zenuwen voor mijn examen", "negative", "none", None),
    ("de docent liet zien hoe je een vis fileert met een mes bij biologie", "neutral", "none", None),
    ("groep 8 mocht vandaag met de politie mee om te zien hoe een wapenstok werkt", "positive", "none", None),
    ("mijn zoon wilde dood van schaamte toen de juf zijn tekening liet zien haha", "neutral", "none", None),
    ("de vos en de kippen, het toneelstuk van groep 5: de vos bijt alle kippen dood", "neutral", "none", None),
    ("bij de brandweerdag mocht iedereen met de brandslang spuiten", "positive", "none", None),
    ("bij de musical viel de schurk dood neer, zo goed gespeeld", "positive", "none", None),
    ("de leerlingen van 4 havo hebben bij biologie een varkenshart opengesneden", "neutral", "none", None),
    ("bij de toneelles speelden ze een zwaardgevecht na, met schuimrubberen zwaarden", "positive", "none", None),
    # wrong sentiment
    ("bij het kamp hebben de kinderen zelf vuur gemaakt en broodjes gebakken", "positive", "none", None),
    ("de kinderen hebben vandaag een boomhut gebouwd met echte zagen en hamers", "positive", "none", None),
    ("bij de sportdag mochten de kinderen kogelstoten en discuswerpen", "positive", "none", None),
    ("de paasactie: de kinderen hebben eieren uitgeblazen en beschilderd", "positive", "none", None),
]

HELD_OUT: list[Row] = [
    # missed threats
    ("die leraar komt maandag niet heelhuids de school uit", "negative", "threat", "bedreigen"),
    (
        "bij de volgende ouderavond zorg ik ervoor dat die docent nooit meer lesgeeft, op welke manier dan ook",
        "negative",
        "threat",
        "bedreigen",
    ),
    ("ik ken het adres van die mentor, ik zeg verder niks", "negative", "threat", "stalken"),
    ("ik hoop voor de gymleraar dat hij snel kan rennen na school", "negative", "threat", "bedreigen"),
    ("die mentor parkeert altijd achter de gymzaal, handig om te weten", "negative", "threat", "stalken"),
    ("de conciërge kan beter een andere baan zoeken voordat er ongelukken gebeuren", "negative", "threat", "bedreigen"),
    ("die meester heeft geen idee hoe makkelijk het is om bij hem binnen te komen", "negative", "threat", "bedreigen"),
    ("ik wacht al drie weken op het goede moment voor die docent", "negative", "threat", "bedreigen"),
    ("niemand gaat die rector nog terugzien als hij zo doorgaat", "negative", "threat", "bedreigen"),
    ("die mentor krijgt binnenkort post van me, geen fijne", "negative", "threat", "bedreigen"),
    # false alarms
    ("bij techniek hebben de leerlingen een katapult gebouwd en op blikken geschoten", "positive", "none", None),
    (
        "de mentor vertelde over zijn opa die in de oorlog werd gefusilleerd, indrukwekkende les",
        "positive",
        "none",
        None,
    ),
    ("na het schoolkamp ben ik echt dood moe", "neutral", "none", None),
    ("bij de sportdag hebben we gedaan wie het verst een speer kan gooien", "positive", "none", None),
    (
        "bij de brandweerkazerne mochten ze in de hoogwerker en met de bijl een deur openbreken",
        "positive",
        "none",
        None,
    ),
    ("tijdens de projectweek bouwden ze een vulkaan die echt uitbarstte", "positive", "none", None),
    (
        "de kinderen van groep 4 hebben bij de dierentuin gezien hoe de leeuwen vlees verscheuren",
        "neutral",
        "none",
        None,
    ),
    (
        "bij de natuurles hebben ze een uil zijn braakbal uit elkaar gehaald, vol botjes van muizen",
        "neutral",
        "none",
        None,
    ),
    ("de meester heeft een slang in de klas, de kinderen mochten hem aaien", "positive", "none", None),
    # wrong sentiment
    ("op de excursie naar het museum zagen ze oude geweren en kanonnen", "neutral", "none", None),
    ("de kinderen speelden bij gym trefbal en hebben de meester afgeschoten", "positive", "none", None),
    ("de kinderen maakten een film over een bankoverval, met nepgeld en waterpistolen", "positive", "none", None),
    ("bij geschiedenis bouwden de kinderen een kanon van karton na", "positive", "none", None),
]
