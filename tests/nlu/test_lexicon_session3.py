"""Session 3 lexicon additions: fresh sentences for the new patterns, and ordinary use that must
not alarm. Lexicon only (no classifier)."""

import pytest

from nlu import safety


def lexicon_level(text: str) -> str:
    return safety._result(safety.lexicon_cues(text)[0]).level


ACUTE = [
    # overdose told, pills with a bottle, pills in the mouth, poison
    "ik heb er net 40 geslikt, van die slaappillen",
    "een hele fles wodka en al mijn oxazepam, nu gaat het rustig worden",
    "ik zit hier met al mijn pillen op de bank",
    "de strip ligt hier, de pillen zitten al in mijn mond",
    "she just injected all of her insulin",
    "sitting in the kitchen with a box of my sleeping pills",
    "two bottles of wine and all my antidepressants, im so tired",
    # minutes or hours ago is now, for an overdose or a wound
    "I took all my pills an hour ago",
    "i cut myself 10 minutes ago and it wont stop bleeding",
    # car in a closed garage, gas
    "de motor draait in de dichte garage en ik zit erin",
    "i'm in the car in the garage with the engine running",
    # farewells
    "jullie horen nooit meer van me",
    "you will never hear from me again",
    "ik heb mijn zaakjes afgerond en ik ben voorgoed weg, voor altijd",
    "zij zegt dat ze zichzelf iets aandoet als ik de kinderen meeneem",
    "mijn broer heeft zichzelf in brand gestoken",
    # medical
    "mijn zoontje is uit het raam gevallen",
    "our toddler fell out of the window",
    "we hebben hem net uit de vijver gehaald en hij hoest",
    "ik ben 30 weken zwanger en verlies veel bloed",
    "im pregnant and bleeding a lot",
    "haar puffer werkt niet meer en ze piept",
    "rash that doesn't fade under a glass and he has a fever",
    # child missing
    "mijn dochter is nog niet terug van school en neemt niet op",
    "de kinderen zijn niet teruggebracht na het weekend bij hun vader",
    "mijn zoon niet op school en ook niet bij zijn vriend",
    "een onbekende man heeft haar meegenomen in een busje",
    "zijn vader heeft hem van school opgehaald terwijl dat niet mag",
    "my son hasn't come back from school and it's 7pm",
    "she was picked up by a man with a restraining order against him",
    "had too many drinks and now i can't find my son",
    # violence / threats
    "hij gooit met borden en de kinderen huilen",
    "he said he'll kill all of us tonight",
    "my ex texted enjoy your last night",
    "i can hear him shouting at the kids through the phone",
]

CONCERN = [
    "volgens mij is het beter voor iedereen als ik er niet meer ben",
    "mijn dochter geeft haar liefste knuffels weg",
    "ik ben moe van het leven",
    "hij zei tegen me: jij bent de volgende",
    "dan ben je er geweest, appte hij",
    "hij zegt dat ik het niet ga navertellen",
    "hij gaat me nog wel te pakken krijgen",
    "ik weet waar ze woont en ik ga langs om het uit te leggen",
    "my daughter told her teacher she wants to die",
    "honestly i don't care what happens to me anymore",
    "he googled painless ways to die last night",
    "i wouldn't mind if i didn't wake up tomorrow",
    "he broke my wrist last year",
    "i drink a bottle of wine every night",
    # told afterwards / repeated: concern, not acute
    "mijn zoon is 3 keer weggelopen deze maand en steeds weer terug",
    "she ran away again, the third time this month",
]

NONE = [
    "ik wil mijn opleiding afmaken",
    "ik verdrink in het papierwerk van de gi",
    "he hurt himself at football, just a bruise",
    "mijn zoon gooit de flessen in de glasbak",
    "de glazen zijn kapot gegaan in de verhuizing",
    "ik hoor niks meer van de gezinsvoogd",
    "hij is voorgoed vertrokken naar spanje",
    "het huis is helemaal wit geschilderd",
    "het is beter voor de kinderen als ik meewerk met de gi",
    "ik kom je keuken verbouwen zaterdag",
    "ik wil haar laten voelen dat ze welkom is",
    "ben je er geweest, bij die nieuwe school?",
    "mijn man heeft ze meegenomen naar de dierentuin",
    "ik heb de kinderen in de auto gezet en ben weggereden naar school",
    "ik heb 2 paracetamol genomen tegen de hoofdpijn",
    "my boss says I'll finish it tomorrow",
    "i'm drowning in paperwork",
    "the kids went nuts at the birthday party lol",
    "de kinderen gaan helemaal los van de suiker",
    "mijn zoon riep ik ga je vermoorden bij mario kart",
    "ik zou die advocaat kunnen vermoorden",
    "my sister is killing herself working two jobs",
    "the psychiatrist asked if I ever had suicidal thoughts",
    "the foster dad nearly choked on his coffee",
    "these waiting lists are giving me a heart attack",
    "hij speelt dat zijn banaan een pistool is, hij doet alsof het een pistool is",
    "hij heeft een wapenvergunning en de geweren liggen in de kluis",
    "mn dochter was even kwijt in de winkel",
    "als mijn zoon wegloopt uit de groep, mag hij dan bij mij komen?",
    "what if he ran away from the foster home, who do i call?",
    "my son ran away from a wasp screaming",
    "heb net mijn medicatie ingenomen en ik ben er suf van",
]


# --- session 3b: second error study -----------------------------------------------------------

CONCERN_3B = [
    # coercive control
    "hij heeft mijn paspoort afgepakt en ik mag van hem niet naar mijn zus",
    "mijn bankpas heeft hij, ik krijg boodschappengeld per week",
    "mijn vriend leest elke avond mijn berichten door",
    "ik durf het niet te vertellen want dan wordt hij woedend",
    "he took my passport and I'm not allowed to go out alone",
    "my boyfriend goes through my phone every night",
    # stalking
    "mijn ex stond alweer bij de ingang van mijn werk",
    "hij achtervolgt me met zijn auto",
    "my ex keeps showing up at my flat",
    # veiled threats
    "je gaat hier nog spijt van krijgen, schreef hij",
    "zijn vrienden willen me een lesje leren",
    "als ik de kinderen niet krijg dan krijgt niemand ze, zei hij",
    "ik sla die vent zijn kop in",
    "he messaged that you will regret this",
    "if i can't have the kids nobody will, he wrote",
    # violence told, second-language Dutch
    "hij heeft vorige maand mijn arm omgedraaid",
    "hij mij slaan als hij boos is",
    "ik bang voor mijn man",
    "he pinned me against the wall on saturday",
    # passive death wishes
    "als ik niet meer wakker word vind ik dat niet erg",
    "ik wou dat ik onder een trein kwam",
    "wil gewoon niet meer wakker worden",
    "why am i even still alive",
    "i don't want to wake up anymore",
    # relapse, repeated running away
    "ik ben weer begonnen met snuiven",
    "my son keeps running away from the group home",
]

ACUTE_3B = [
    "de baby wordt niet wakker en ademt raar",
    "he's on the floor and won't wake up",
    "vannacht neem ik alles, ik wil niet meer wakker worden",
    "ik krijg hem niet wakker",
    "mijn zoon is weggelopen",
    "my son ran away and we cant find him",
]

NONE_3B = [
    "de gi vroeg of er wapens in huis zijn",
    "ze had een plastic mes in haar broodtrommel",
    "the social worker asked if we have any guns at home",
    "toy knife in his lunch box, the school panicked",
    "ik wilde dood van de schaamte toen hij ging zingen",
    "I nearly had a heart attack when the letter came",
    "mijn opa is overleden aan een hartaanval",
    "i lost the kids' passports during the move",
    "ik ben bang dat de rechter nee zegt",
    "ik controleer de telefoon van mijn dochter",
    "mijn ex staat zaterdag bij de overdracht",
    "hij zoekt me op in het weekend",
    "ik wil verdwijnen onder de dekens met een boek",
    "ik moet oppassen met zout",
    "i'm done with this paperwork",
    "my son keeps running to the door when the bell rings",
    "he gave away his old toys to the charity shop",
    "ik ben op, wat een week",
]


CASES = [
    (text, level)
    for level, texts in (
        ("acute", ACUTE + ACUTE_3B),
        ("concern", CONCERN + CONCERN_3B),
        ("none", NONE + NONE_3B),
    )
    for text in texts
]


@pytest.mark.parametrize(("text", "level"), CASES)
def test_session3_lexicon_level(text, level):
    assert lexicon_level(text) == level
