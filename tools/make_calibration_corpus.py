"""Generate calibrator_data.txt: the English sentences INT8 calibration runs through BERT.

INT8 calibration only needs activations that look like real use, so the corpus is our own:
hand-written word lists and sentence templates over many topics (science, history, cooking,
sports, travel, technology, everyday life, health, nature, arts, business, school), in many
shapes (statements, questions, lists, numbers and dates, dialogue lines, instructions, short
fragments, long compound sentences), plus a few hundred sentences written by hand below.
Some rare words are mixed in so the WordPiece tokenizer has to split words into pieces.

Lengths cover 1..60 words (whitespace-separated): every length in that range appears several
times, so calibration sees short sequences with much padding as well as nearly full ones.
Everything is lower-cased (the model's tokenizer is uncased) and the output is deterministic
for a given --seed. The file starts with '#' comment lines saying how it was made; loaders
skip '#' lines and blank lines.

    python tools/make_calibration_corpus.py                 # writes calibrator_data.txt
    python tools/make_calibration_corpus.py --seed 7 --count 3000 --output /tmp/corpus.txt
"""
from __future__ import annotations

import argparse
import random
import re
import string
from collections import Counter
from pathlib import Path

DEFAULT_SEED = 20240611
DEFAULT_COUNT = 3500
MIN_WORDS, MAX_WORDS = 1, 60
MIN_PER_LENGTH = 4  # every length 1..60 appears at least this often
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "calibrator_data.txt"

# --- word lists: {slot} in a template is replaced by a random entry of WORDS[slot] ----------------

WORDS = {
    "name": ["maria", "tom", "aisha", "kenji", "lucas", "priya", "olga", "samuel", "mei", "diego",
             "fatima", "jonas", "grace", "omar", "ingrid", "raj", "chloe", "tariq", "nadia", "felix",
             "beatrice", "hamid", "sofia", "arjun", "elena", "kwame", "lena", "mateo", "yuki", "zara"],
    "relative": ["my grandmother", "her uncle", "our neighbour", "his sister", "the new teacher",
                 "my cousin", "their landlord", "the coach", "a colleague of mine", "my best friend"],
    "city": ["lisbon", "nairobi", "osaka", "toronto", "krakow", "lima", "edinburgh", "hanoi",
             "marrakesh", "reykjavik", "adelaide", "bergen", "montreal", "cusco", "tbilisi", "porto"],
    "country": ["portugal", "kenya", "japan", "canada", "poland", "peru", "scotland", "vietnam",
                "morocco", "iceland", "australia", "norway", "chile", "georgia", "mexico", "finland"],
    "place": ["the library", "the train station", "the market", "the museum", "the harbour",
              "the old bridge", "the bakery on the corner", "the park", "the school gym",
              "the hospital", "the airport", "the town hall", "the campsite", "the laboratory"],
    "animal": ["fox", "heron", "otter", "beetle", "octopus", "sparrow", "badger", "dolphin",
               "tortoise", "hedgehog", "salamander", "falcon", "moth", "jellyfish", "goat", "lynx"],
    "food": ["lentil soup", "fresh bread", "rice", "roasted carrots", "a lemon tart", "dumplings",
             "grilled fish", "tomato sauce", "porridge", "chickpea curry", "pancakes", "flatbread",
             "mushroom risotto", "apple crumble", "miso soup", "a cheese omelette", "quinoa salad"],
    "ingredient": ["garlic", "butter", "flour", "two eggs", "a pinch of salt", "fresh basil",
                   "olive oil", "brown sugar", "ginger", "cumin", "saffron", "lime juice",
                   "sesame seeds", "cinnamon", "black pepper", "yoghurt", "paprika", "cardamom"],
    "kitchen_verb": ["chop", "stir", "whisk", "simmer", "fold", "season", "knead", "slice", "toast",
                     "grate", "marinate", "drain", "roast", "blend", "peel", "sieve"],
    "sport": ["football", "tennis", "cricket", "basketball", "swimming", "rowing", "chess",
              "cycling", "volleyball", "rugby", "badminton", "table tennis", "climbing", "fencing"],
    "team": ["the home team", "the visitors", "our club", "the under-sixteens", "the national side",
             "the champions", "the newly promoted team", "the university eight"],
    "science_noun": ["the enzyme", "the sample", "the galaxy", "the molecule", "the neuron",
                     "the magnetic field", "the cell membrane", "the reaction", "the telescope",
                     "the fossil", "the virus", "the glacier", "the protein", "the crystal",
                     "the electron", "the experiment", "the satellite", "the algae"],
    "science_verb": ["absorbs", "emits", "reflects", "binds to", "breaks down", "orbits",
                     "accelerates", "dissolves in", "responds to", "depends on", "releases"],
    "science_thing": ["light", "heat", "oxygen", "carbon dioxide", "radiation", "water",
                      "glucose", "sound waves", "nitrogen", "electric charge", "pressure"],
    "field": ["biology", "chemistry", "astronomy", "geology", "physics", "ecology", "genetics",
              "neuroscience", "oceanography", "mathematics", "linguistics", "archaeology"],
    "history_subject": ["the empire", "the old kingdom", "the merchants", "the city council",
                        "the rebels", "the monks", "the explorers", "the printers' guild",
                        "the railway company", "the farmers", "the parliament", "the sailors"],
    "history_verb": ["founded", "abandoned", "rebuilt", "conquered", "traded with", "mapped",
                     "taxed", "defended", "described", "besieged", "governed", "celebrated"],
    "history_object": ["the port", "a new capital", "the northern provinces", "the silk route",
                       "the cathedral", "the coastline", "the river valley", "the fortress",
                       "the island", "the first public library", "the salt mines"],
    "era": ["the bronze age", "the middle ages", "the eighteenth century", "the roman period",
            "the industrial revolution", "the renaissance", "the nineteenth century",
            "the early modern period", "the iron age", "the nineteen twenties"],
    "tech_noun": ["the server", "the database", "the compiler", "the app", "the router",
                  "the laptop", "the spreadsheet", "the neural network", "the firmware", "the api",
                  "the password manager", "the cache", "the graphics card", "the website",
                  "the build system", "the sensor", "the keyboard", "the operating system"],
    "tech_verb": ["crashed", "restarted", "updated itself", "froze", "slowed down",
                  "lost the connection", "ran out of memory", "threw an error", "finished the job",
                  "overheated", "synced", "rejected the request"],
    "tech_action": ["reboot the router", "clear the cache", "update the drivers", "back up the files",
                    "check the logs", "reinstall the app", "change your password", "run the tests",
                    "free some disk space", "roll back the update", "restart the service"],
    "weather": ["it rained all afternoon", "the fog lifted around noon", "a cold wind blew from the north",
                "the sun finally came out", "snow covered the hills", "a thunderstorm rolled in",
                "the heat was unbearable", "the sky turned orange", "hail rattled on the roof",
                "the morning was crisp and clear"],
    "feeling": ["tired", "happy", "nervous", "relieved", "curious", "bored", "proud", "confused",
                "excited", "grumpy", "hopeful", "homesick", "calm", "surprised", "exhausted"],
    "adjective": ["quiet", "enormous", "tiny", "ancient", "bright", "muddy", "elegant", "noisy",
                  "crowded", "fragile", "shiny", "peculiar", "gentle", "narrow", "colourful",
                  "rusty", "delicious", "mysterious", "ordinary", "remarkable", "dusty", "brave"],
    "object": ["umbrella", "notebook", "bicycle", "kettle", "backpack", "lamp", "map", "guitar",
               "wallet", "suitcase", "telescope", "blanket", "key", "mirror", "ladder", "clock"],
    "daily_verb": ["forgot", "found", "borrowed", "repaired", "lost", "painted", "cleaned", "sold",
                   "bought", "wrapped", "carried", "dropped", "returned", "polished", "measured"],
    "activity": ["reading", "gardening", "baking", "running", "knitting", "painting", "hiking",
                 "singing", "fishing", "sailing", "writing letters", "learning spanish",
                 "playing the piano", "doing crosswords", "watching old films", "bird watching"],
    "instrument": ["violin", "cello", "trumpet", "drums", "piano", "flute", "accordion", "harp",
                   "saxophone", "ukulele", "clarinet", "xylophone", "bagpipes", "sitar"],
    "art_noun": ["the painting", "the novel", "the sculpture", "the symphony", "the poem",
                 "the film", "the play", "the mural", "the album", "the photograph", "the opera"],
    "art_adj": ["haunting", "playful", "unfinished", "controversial", "moving", "baroque",
                "minimalist", "surreal", "tender", "overlong", "luminous", "experimental"],
    "business_noun": ["the company", "the bakery", "the start-up", "the bank", "the factory",
                      "the shop", "the cooperative", "the publisher", "the airline", "the farm"],
    "business_verb": ["hired twelve people", "cut its prices", "opened a second branch",
                      "reported a loss", "doubled its sales", "moved to a bigger office",
                      "paid off its debts", "launched a new product", "closed for renovation",
                      "merged with a rival", "raised its prices"],
    "health": ["drink more water", "sleep at least seven hours", "stretch before running",
               "wash your hands often", "take the stairs", "eat more vegetables",
               "see a doctor about that cough", "take regular breaks from the screen",
               "wear sunscreen", "walk for half an hour a day"],
    "school_noun": ["the exam", "the essay", "the group project", "the lecture", "the homework",
                    "the field trip", "the spelling test", "the science fair", "the seminar",
                    "the reading list", "the thesis", "the timetable"],
    "transport": ["by train", "by bus", "on foot", "by ferry", "by bike", "by car", "by plane",
                  "on a night bus", "in a borrowed van", "on horseback"],
    "time_phrase": ["yesterday", "last week", "this morning", "on sunday", "every winter",
                    "two years ago", "tomorrow", "at dawn", "after lunch", "in the evening",
                    "next spring", "once a month", "late at night", "during the holidays"],
    "connector": [", and", ", but", "; however,", ", so", " because", " while", " although",
                  ", which meant that", "; meanwhile,", ", and then", " until", " even though",
                  "; as a result,", ", yet", " before", " after", " whereas"],
    "opener": ["to be honest,", "in fact,", "surprisingly,", "as usual,", "fortunately,",
               "for what it is worth,", "in the end,", "apparently,", "of course,", "oddly enough,",
               "by the way,", "at first,", "luckily,", "sadly,"],
    "rare_noun": ["photosynthesis", "archaeologist", "kaleidoscope", "onomatopoeia", "mitochondria",
                  "cryptocurrency", "bioluminescence", "thermodynamics", "zeitgeist", "fjord",
                  "sesquipedalian words", "tzatziki", "quinoa", "chrysanthemum", "hieroglyphics",
                  "ptarmigan", "sauerkraut", "phosphorescence", "ombudsman", "xylography",
                  "gobbledygook", "serendipity", "a palindrome", "an axolotl", "a quokka",
                  "the metamorphosis", "cartography", "paleontology", "a triceratops",
                  "electroencephalography", "a rhododendron", "the hippopotamus", "a bureaucrat",
                  "schadenfreude", "a doppelganger", "a haiku", "the equinox", "a nebula",
                  "pneumonia", "a stethoscope", "a thermostat", "an anemometer", "a gyroscope"],
    "question_word": ["why", "how", "when", "where", "who"],
    "unit": ["kilometres", "metres", "grams", "litres", "minutes", "hours", "days", "degrees",
             "pages", "steps", "people", "euros", "dollars", "votes", "seats", "kilograms"],
    "month": ["january", "february", "march", "april", "may", "june", "july", "august",
              "september", "october", "november", "december"],
    "weekday": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
}


def _number(rng):
    return str(rng.choice([rng.randint(2, 12), rng.randint(13, 99), rng.randint(100, 999),
                           rng.randint(1000, 99999)]))


def _few(rng):
    return str(rng.randint(2, 40))


def _thousands(rng):
    return f"{rng.randint(1000, 9_999_999):,}"


def _decimal(rng):
    return f"{rng.uniform(0, 100):.{rng.randint(1, 3)}f}"


def _price(rng):
    return f"{rng.choice(['$', '€', '£'])}{rng.randint(1, 499)}.{rng.randint(0, 99):02d}"


def _percent(rng):
    return f"{rng.randint(1, 99)}%"


def _year(rng):
    return str(rng.choice([rng.randint(1066, 1899), rng.randint(1900, 2030)]))


def _clock(rng):
    return f"{rng.randint(1, 12)}:{rng.choice(['00', '15', '30', '45', '05', '50'])} {rng.choice(['am', 'pm'])}"


def _date(rng):
    return f"{rng.choice(WORDS['month'])} {rng.randint(1, 28)}, {_year(rng)}"


def _phone(rng):
    return f"{rng.randint(100, 999)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"


# Slots filled by a function instead of a word list.
GENERATED = {"number": _number, "few": _few, "thousands": _thousands, "decimal": _decimal, "price": _price,
             "percent": _percent, "year": _year, "clock": _clock, "date": _date, "phone": _phone}

# --- templates: one topic per list; {slot} names a WORDS list or a GENERATED function -------------

TEMPLATES = {
    "science": [
        "{science_noun} {science_verb} {science_thing} much faster than we expected.",
        "in {field}, a result is only trusted once another lab can repeat it.",
        "the students measured how {science_noun} {science_verb} {science_thing} at {number} degrees.",
        "why does {science_noun} lose its colour when it {science_verb} {science_thing}?",
        "a paper on {rare_noun} was published in a {field} journal in {year}.",
        "the data suggest that {science_noun} {science_verb} {science_thing} only in daylight.",
        "after {number} trials, the effect was still smaller than {decimal} percent.",
        "{name} spent {number} nights at the observatory waiting for a clear sky.",
        "nobody in the {field} department could explain {rare_noun}.",
        "the {animal} uses {science_thing} to find its way home across {number} {unit}.",
    ],
    "history": [
        "in {year}, {history_subject} {history_verb} {history_object}.",
        "during {era}, {history_subject} {history_verb} {history_object} twice.",
        "historians still argue about why {history_subject} {history_verb} {history_object}.",
        "the letters from {era} describe {history_object} in surprising detail.",
        "a treaty signed on {date} ended the long dispute over {history_object}.",
        "{history_subject} of {city} {history_verb} {history_object} after a hard winter.",
        "the museum in {city} keeps a map of {history_object} drawn in {year}.",
        "few records survive from {era}, so much of what we know comes from {rare_noun}.",
    ],
    "cooking": [
        "{kitchen_verb} the {ingredient} and add it to the pan.",
        "for the {food}, you will need {ingredient}, {ingredient} and {ingredient}.",
        "preheat the oven to {number} degrees and bake for {number} minutes.",
        "{name} makes the best {food} i have ever tasted.",
        "gently {kitchen_verb} in {ingredient}, then let it rest for ten minutes.",
        "is it possible to make {food} without {ingredient}?",
        "we had {food} and {food} for dinner {time_phrase}.",
        "the recipe says {ingredient}, but i always use {ingredient} instead.",
        "{kitchen_verb}, {kitchen_verb}, {kitchen_verb}: that is half of all cooking.",
        "a good {food} costs about {price} at the market in {city}.",
    ],
    "sports": [
        "{team} won {number} to {number} after extra time.",
        "{name} has played {sport} since she was {few} years old.",
        "the {sport} final was postponed because {weather}.",
        "who scored the winning point in the {sport} match {time_phrase}?",
        "{team} trained {number} hours a week before the tournament in {city}.",
        "our {sport} club has {number} members and one very old minibus.",
        "the referee stopped the game when {weather}.",
        "{name} broke the club record by {decimal} seconds.",
        "tickets for the {sport} semifinal cost {price} each.",
    ],
    "travel": [
        "we travelled from {city} to {city} {transport}.",
        "the flight to {country} was delayed by {number} minutes.",
        "{name} stayed in {city} for {few} days and never wanted to leave.",
        "how long does it take to get to {place} {transport}?",
        "if you visit {country}, do not miss the food markets of {city}.",
        "our train left {city} at {clock} and arrived just after midnight.",
        "the cheapest room near {place} was {price} a night.",
        "{relative} once walked across {country} with only a {object} and a map.",
        "remember to bring your passport, a charger and a {object}.",
    ],
    "tech": [
        "{tech_noun} {tech_verb} {time_phrase}, so we had to {tech_action}.",
        "have you tried to {tech_action}?",
        "{name} wrote a script that checks {tech_noun} every {number} minutes.",
        "the update made {tech_noun} about {percent} faster.",
        "if {tech_noun} {tech_verb} again, {tech_action} first.",
        "error {number}: {tech_noun} {tech_verb}.",
        "a new {object} with a built-in {tech_noun} costs around {price}.",
        "the team spent {date} debugging {tech_noun}.",
        "version {decimal} of {tech_noun} was released on {weekday}.",
    ],
    "everyday": [
        "{name} {daily_verb} the {object} {time_phrase}.",
        "i {daily_verb} my {object} at {place} and only noticed {time_phrase}.",
        "{relative} felt {feeling} after a long day at {place}.",
        "{weather}, so we stayed in and played cards.",
        "can you pick up {food} on your way home?",
        "{name} is {feeling} because the {object} is {adjective} again.",
        "the {adjective} {object} in the hall belongs to {relative}.",
        "my neighbour's {animal} visits our garden every {weekday}.",
        "{opener} {name} enjoys {activity} more than anything else.",
        "the meeting is on {weekday} at {clock}, room {number}.",
    ],
    "health": [
        "doctors advise people to {health}.",
        "{name} decided to {health} and feels much better.",
        "if you feel {feeling} all the time, {health}.",
        "the clinic near {place} is open until {clock}.",
        "a study of {thousands} adults found that {percent} of them rarely {health}.",
    ],
    "nature": [
        "{weather} and the {animal} disappeared into the reeds.",
        "a {adjective} {animal} was seen near {place} {time_phrase}.",
        "the {animal} can live for {few} years in the wild.",
        "in {country}, the forests turn red and gold in {month}.",
        "{weather}; by evening the river had risen {decimal} metres.",
        "have you ever seen {rare_noun} up close?",
    ],
    "arts": [
        "{art_noun} was {art_adj}, and the critics loved it.",
        "{name} has played the {instrument} in the city orchestra for {few} years.",
        "i found {art_noun} {art_adj} but a little too long.",
        "{art_noun}, finished in {year}, now hangs in a museum in {city}.",
        "the band needs a {instrument} player before the concert on {date}.",
        "what makes {art_noun} so {art_adj}?",
    ],
    "business": [
        "{business_noun} {business_verb} last year.",
        "after a difficult quarter, {business_noun} {business_verb}.",
        "{business_noun} in {city} {business_verb} and now employs {number} people.",
        "profits rose by {percent} to {price} million.",
        "the shareholders met on {date} to discuss {rare_noun}.",
    ],
    "school": [
        "{school_noun} was harder than anyone expected.",
        "{name} finished {school_noun} at {clock}, two minutes before the deadline.",
        "our teacher moved {school_noun} to {weekday}.",
        "is {school_noun} on {field} or on {field}?",
        "the class of {number} students went to {place} for {school_noun}.",
    ],
    "dialogue": [
        "\"where did you put the {object}?\" asked {name}.",
        "\"i am {feeling},\" said {name}, \"but i will be fine.\"",
        "\"are we there yet?\" \"not yet, {number} more {unit}.\"",
        "{name}: have you seen my {object}? {name}: it is by the door.",
        "\"call me at {phone},\" she said, and hung up.",
        "\"{opener} i think {art_noun} is {art_adj},\" {name} whispered.",
        "- is it raining? - no, but take the {object} anyway.",
        "\"{tech_action}, then try again,\" said the man on the phone.",
    ],
    "questions": [
        "{question_word} did {name} leave {place} so early?",
        "{question_word} is {relative} coming back from {city}?",
        "do you know {question_word} the {animal} sleeps during the day?",
        "could you tell me the way to {place}, please?",
        "what time does {place} open on {weekday}?",
        "how many {unit} is it from {city} to {city}?",
        "is {rare_noun} a real word?",
        "would you rather go {activity} or stay home?",
    ],
    "lists": [
        "shopping list: {food}, {ingredient}, {food}, and a new {object}.",
        "things to pack: {object}, {object}, {object}, {object}.",
        "{name}, {name}, {name} and {name} are on the committee.",
        "first {tech_action}; second, {tech_action}; third, call for help.",
        "the menu: {food}, {food} or {food}, then coffee.",
        "cities we visited: {city}, {city}, {city} and {city}.",
    ],
    "numbers": [
        "the population grew from {thousands} to {thousands} in {number} years.",
        "the invoice dated {date} came to {price}.",
        "she ran {decimal} kilometres in {number} minutes.",
        "about {percent} of the {thousands} voters stayed home.",
        "flight {number} departs at {clock} from gate {number}.",
        "the recipe serves {few} and takes {number} minutes.",
        "{thousands} people signed the petition by {date}.",
        "room {number}, floor {number}, building {number}.",
    ],
}

# Independent clauses that compound sentences are built from (joined with WORDS["connector"]).
CLAUSES = [
    "{name} {daily_verb} the {object}",
    "{weather}",
    "{science_noun} {science_verb} {science_thing}",
    "{history_subject} {history_verb} {history_object}",
    "{team} won the {sport} match",
    "{tech_noun} {tech_verb}",
    "we travelled to {city} {transport}",
    "{business_noun} {business_verb}",
    "{relative} felt {feeling}",
    "the {adjective} {animal} watched us from the hedge",
    "nobody remembered to {tech_action}",
    "{name} was busy {activity}",
    "the kitchen smelled of {ingredient} and {ingredient}",
    "{art_noun} turned out to be {art_adj}",
    "the train to {city} was {few} minutes late",
    "{school_noun} had been moved to {weekday}",
    "{name} kept talking about {rare_noun}",
    "the doctor told {relative} to {health}",
    "prices at {place} went up by {percent}",
    "{name} had never been to {country} before",
    "the old {object} in the attic was {adjective} and covered in dust",
    "everyone at {place} was waiting for news from {city}",
    "we ate {food} by the window",
    "the streets of {city} were {adjective} and full of music",
]

# Fragments and one-word lines: headings, replies, exclamations.
FRAGMENTS = [
    "yes.", "no!", "hello.", "thanks!", "why?", "really?", "goodbye.", "maybe.", "wait...",
    "chapter {number}.", "{rare_noun}.", "{city}.", "{month} {year}.", "{food}!", "page {number}",
    "{feeling}.", "{adjective} {animal}.", "see you {time_phrase}!", "not again.", "well done!",
    "{name}?", "{price}", "{percent}", "{year}", "ingredients:", "step {number}.", "{sport}.",
    "{opener} no.", "happy birthday, {name}!", "{instrument}?", "{weekday}.", "the end.",
    "{field}", "exactly.", "of course!", "{clock}.", "{art_adj}.", "good morning, {city}!",
    "{kitchen_verb} gently.", "to {city} {transport}.", "{thousands} {unit}.", "ouch!",
]

# --- sentences written by hand ---------------------------------------------------------------------

HAND_WRITTEN = """
the kettle clicked off just as the phone started ringing.
my grandfather kept every train ticket he ever bought, sorted by year, in a biscuit tin.
please leave your muddy boots by the back door.
the river froze so hard that winter that people skated all the way to the next village.
if the bus is late again, i am buying a bicycle.
she read the last page twice because she did not want the book to end.
there is a small crack in the window above the sink.
he apologised for the noise and promised to finish the shelves by friday.
we planted tomatoes, beans and far too many courgettes.
the cat sleeps on the warmest laptop in the house.
nobody knows who left the flowers on the bench.
our landlord finally fixed the boiler after three cold weeks.
the baby laughed every time the dog sneezed.
i keep meaning to learn how to sew on a button.
the lift is out of order, so take the stairs.
on rainy sundays we used to build forts out of sofa cushions.
the parcel arrived damaged, but the vase inside was fine.
could you turn the music down a little?
he wrote the shopping list on the back of an old receipt.
the neighbours are having a party and we are not invited.
my alarm did not go off, so i missed the first lecture.
the plants on the balcony need water every evening in july.
she wears odd socks on purpose because she says it brings luck.
light from the sun takes a little over eight minutes to reach the earth.
water expands when it freezes, which is why pipes burst in winter.
a bee visits hundreds of flowers on a single trip.
the moon has no atmosphere to scatter light, so its sky is always black.
some bacteria survive in hot springs that would cook an egg.
the heart of a hummingbird can beat more than a thousand times a minute.
plate tectonics explains why the same fossils turn up on different continents.
sound travels faster through water than through air.
a teaspoon of neutron star material would weigh billions of tonnes.
octopuses have three hearts and blue blood.
the mitochondria turn nutrients into energy the cell can use.
diamonds and graphite are both made of pure carbon, arranged differently.
the experiment failed, but the failure taught us more than success would have.
tides are caused mostly by the pull of the moon.
lightning heats the air around it to several times the temperature of the sun's surface.
some trees warn their neighbours of insect attacks through chemical signals.
bioluminescent plankton make the waves glow blue at night.
the printing press made books cheap enough for ordinary families to own.
the ancient library was not destroyed in a single fire but declined over centuries.
sailors once used the stars to find their way across open ocean.
the city walls were torn down in the nineteenth century to make room for boulevards.
for hundreds of years, salt was so valuable that it was used to pay soldiers.
the first public railway carried coal before it carried passengers.
medieval monks copied books by hand, one careful letter at a time.
the archaeologists found a child's toy buried beneath the kitchen floor.
the treaty was signed in a small farmhouse because the palace had burned.
women ran the factories while the men were away at war.
the old canal was built by hand, with shovels and wheelbarrows.
the emperor's decree was carved in stone and set up in every market square.
the explorers ran out of fresh food and lived on dried fish for months.
newspapers of the time called the bridge a wonder of the modern age.
the coins found in the field were minted nearly two thousand years ago.
add the onions and cook them slowly until they turn golden.
never put a wet pan into hot oil.
bread dough should double in size before you shape it.
a squeeze of lemon brightens almost any soup.
let the meat rest for ten minutes before carving it.
my aunt's secret ingredient turned out to be a spoonful of honey.
the sauce split because the butter was too cold.
taste as you go, and add salt a little at a time.
we burned the first pancake, as everyone always does.
soak the beans overnight, then simmer them for an hour.
the cake sank in the middle, but it tasted wonderful.
he insists that tzatziki needs twice as much garlic as any recipe says.
toast the spices in a dry pan until they smell fragrant.
fold the egg whites in gently or the souffle will collapse.
this bakery sells out of croissants by eight in the morning.
the goalkeeper saved a penalty in the last minute of the game.
she has run three marathons and says the third was the easiest.
the crowd went quiet when the captain limped off the pitch.
our team lost every match last season and had a wonderful time.
the chess tournament lasted eleven hours and ended in a draw.
he swims forty lengths before breakfast every day, even in winter.
the cyclists climbed the mountain pass in thick fog.
it was the first time the club had reached a final in fifty years.
the referee's decision was argued about for weeks.
stretch properly or you will regret it tomorrow.
the rowing crew trains on the river at five in the morning.
the umpire called the game off because of bad light.
we missed the last ferry and spent the night in a fishing village.
the hotel had no hot water, but the view made up for it.
always carry a little cash when you travel in the countryside.
the road to the monastery is narrow, steep and beautiful.
our luggage went to oslo while we went to lisbon.
the night train rocked us gently to sleep somewhere south of vienna.
she learned enough of the language to order coffee and apologise.
the guidebook was ten years out of date and every restaurant had closed.
we hiked along the fjord until the path disappeared into the sea.
the border guard stamped our passports without looking up.
a kind stranger drew us a map on a paper napkin.
travelling slowly is the best way to see a country.
the campsite was full, so we slept in a barn.
the app keeps asking me to update it, and every update makes it slower.
he restarted the server and the problem vanished, for now.
remember to back up your photos before you reinstall the system.
the password must contain a number, a symbol and the blood of a unicorn.
our website went down for an hour and nobody noticed.
the robot vacuum got stuck under the sofa again.
she taught herself to program by building small games.
the battery dies halfway through every video call.
machine learning models can be surprisingly confident and completely wrong.
the printer only works when nobody needs it.
he spent the whole afternoon looking for a missing semicolon.
the new phone has three cameras and still takes blurry pictures of the moon.
we store the results in a database and back it up every night.
the sensor sends a reading every ten seconds over the wireless network.
turning it off and on again fixes more problems than it should.
drink a glass of water when you wake up.
the nurse checked his temperature every four hours.
a short walk after dinner helps you sleep.
she took up swimming after she hurt her knee.
regular exercise is good for the mind as well as the body.
the pharmacy on the corner is open all night.
he finally gave up coffee and now he is grumpy until noon.
the flu spread through the office in a single week.
the fog rolled in from the sea and swallowed the lighthouse.
a family of ducks crossed the road and stopped all the traffic.
the maple trees turn bright red in october.
it has not rained here for two months.
the storm knocked down three trees and the power line.
we watched the meteor shower lying on the roof of the car.
the first snow of the year fell softly on the empty playground.
wolves have returned to the valley after a hundred years.
the desert blooms for a few weeks after the spring rains.
the glacier has retreated several hundred metres since our grandparents were young.
a heron stood perfectly still in the shallow water.
the orchestra tuned up while the audience found their seats.
she paints the same harbour every morning, in every kind of light.
the novel has three narrators who never quite agree.
he plays the cello badly but with great enthusiasm.
the film was long, slow and absolutely beautiful.
the poet read her work in a voice barely above a whisper.
the museum is free on the first sunday of every month.
their second album sounds nothing like their first.
the choir practised the same four bars for an hour.
a street artist painted a giant whale on the side of the bank.
the play was cancelled on opening night when the lead lost his voice.
jazz is the art of making mistakes sound intentional.
the shop will close at the end of the month after forty years.
the company moved its offices to a converted warehouse by the river.
sales fell sharply in the spring and recovered by the autumn.
the bakery employs six people and a very patient manager.
the market opened lower after the news from overseas.
we are looking for someone with patience, humour and a driving licence.
the small farm sells its eggs directly to the neighbours.
interest rates rose for the third time this year.
the budget meeting went on for four hours and decided nothing.
she started the business in her garage with a loan from her uncle.
the exam starts at nine, so please arrive by half past eight.
the teacher read the essays aloud without saying who wrote them.
our school trip to the science museum was the best day of the year.
he failed the driving test twice and passed with flying colours on the third try.
the library is silent except for the ticking clock.
she studies linguistics and can say thank you in thirty languages.
the students built a bridge out of spaghetti that held four kilograms.
homework is due on monday, no exceptions.
the professor forgot his notes and gave the best lecture of the term.
learning a new language is easier when you are not afraid of sounding silly.
"is anyone sitting here?" "no, go ahead."
"what are you reading?" "a book about whales."
"do you want tea or coffee?" "whatever is easier."
"i told you so," said my sister, smiling.
"turn left at the church," he said, "then keep going until you see the sea."
"be careful, the floor is wet!"
"have you eaten?" "not since breakfast."
"can i help you?" "i am just looking, thanks."
"who left the door open?" nobody answered.
"we're lost, aren't we?" "we are exploring."
"sorry i'm late, the train broke down."
"how much is this?" "five euros, but for you, four."
"it's too quiet," she whispered, "something is wrong."
what time is it?
where did you buy that hat?
how do bats see in the dark?
why is the sky blue during the day and red at sunset?
who invented the bicycle?
when does the next train to the airport leave?
is it true that goldfish only remember things for a few seconds?
how many languages are spoken in the world today?
what is the difference between weather and climate?
could a person survive a week without sleep?
why do onions make you cry?
what would happen if the moon disappeared?
how old is the oldest tree on earth?
do you think it will rain tomorrow?
which is heavier, a kilogram of feathers or a kilogram of iron?
bring a torch, a blanket, some water and a good book.
red, orange, yellow, green, blue, indigo and violet.
monday: laundry. tuesday: groceries. wednesday: nothing at all.
eggs, flour, milk, butter and a pinch of salt.
north, south, east or west, home is best.
one, two, three, four, five.
the package weighs 2.5 kilograms and costs $14.99 to send.
the meeting was moved from 3:30 pm to 4:15 pm.
she was born on may 4, 1987, in a small town by the sea.
about 70% of the earth's surface is covered by water.
the temperature dropped to minus 12 degrees overnight.
the bridge is 1,280 metres long and took six years to build.
the ticket costs 12 euros for adults and 6 for children.
the population of the town doubled between 1950 and 1980.
call 555-0142 to book a table for two.
the marathon is 42.195 kilometres long.
a year on mars lasts about 687 earth days.
the shop is open from 9 am to 5:30 pm, monday to saturday.
in 1969, people walked on the moon for the first time.
the recipe calls for 250 grams of flour and 3 eggs.
our flat is on the 14th floor, number 1402.
the score was 3 to 2 after ninety minutes.
yes.
no.
absolutely.
perhaps.
hello?
goodnight.
congratulations!
help!
serendipity.
onomatopoeia.
thank you very much.
see you soon.
not bad at all.
once upon a time.
to be continued.
the end.
out of order.
mind the gap.
wet paint.
all aboard!
happy new year!
chapter one.
table of contents
keep calm.
no entry.
the quick fox.
rain again.
almost there.
she smiled.
he left.
dogs bark.
time flies.
we won!
photosynthesis turns sunlight, water and carbon dioxide into sugar and oxygen.
the hippopotamus is surprisingly fast on land.
an axolotl can regrow its legs, its heart and even parts of its brain.
a palindrome reads the same backwards, like the word level.
the ptarmigan turns white in winter to hide in the snow.
the ombudsman investigated more than four hundred complaints last year.
the kaleidoscope scattered coloured light across the ceiling.
the archaeopteryx had feathers like a bird and teeth like a reptile.
electroencephalography records the electrical activity of the brain.
the chrysanthemums in the churchyard bloom late in the autumn.
it was a cold, grey morning in november, and the whole town seemed to be holding its breath as the fishing boats came back one by one through the narrow harbour mouth, their decks heavy with ice.
although the recipe looked simple, it took us three attempts, two trips to the shop and one small kitchen fire before the bread finally came out of the oven golden, crusty and almost exactly like the picture.
when the power went out during the storm, we lit every candle we could find, played cards at the kitchen table, told the children stories about their great-grandparents and, for one evening, nobody missed their phones at all.
the committee, which had met every tuesday for eleven years without ever agreeing on anything important, surprised everyone by voting unanimously to replace the old footbridge, repaint the town hall and plant a row of lime trees along the river.
she had always wanted to see the northern lights, so when she retired she sold her car, bought a warm coat and a train ticket to the far north, and spent three weeks waiting in the cold until the sky finally turned green.
the scientists, working in shifts through the long polar night, drilled nearly three kilometres down into the ice, and the air bubbles trapped in the deepest cores told them what the atmosphere had been like hundreds of thousands of years ago.
my grandmother, who grew up on a farm without electricity, could bake bread, mend a fence, deliver a calf and recite long poems from memory, but she never learned to swim and was always a little afraid of the sea.
because the bridge had been closed for repairs, the bus took a long detour through the hills, past sleepy villages, orchards and a small lake, and we arrived two hours late but in a much better mood than when we had left.
the new software was supposed to make everything faster, but for the first month it crashed twice a day, lost several important files and confused everyone, until a patient engineer finally discovered that a single setting had been wrong from the start.
local council approves new cycle lanes after a two-year debate.
heavy rain expected across the north on thursday and friday.
museum reopens after a decade of repairs.
scientists find water ice in a crater near the lunar south pole.
village school celebrates its hundredth birthday with a picnic.
warning: contents may be hot.
do not lean out of the window while the train is moving.
press and hold the button for five seconds to reset the device.
unplug the toaster before you try to get the crumbs out.
store in a cool, dry place away from direct sunlight.
shake well before use.
fill in the form in block capitals and sign at the bottom.
step 1: remove the cover. step 2: replace the filter. step 3: close the cover.
turn the dial to the left until it clicks, then pull gently.
keep the receipt in case you want to return it.
the function returns none when the list is empty.
compile the program, run the tests, then read the warnings carefully.
a cache that is never invalidated will eventually lie to you.
the array has three dimensions: batch, sequence and hidden size.
he measured the latency before and after the change, and the difference was within the noise.
dear sir or madam, i am writing to complain about the noise from the building site.
best wishes, and thank you again for your help.
see the attached file for the full schedule.
the meeting minutes were approved without changes.
please reply by the end of the week if you can come.
i think, therefore i am.
all that glitters is not gold.
the early bird catches the worm, but the second mouse gets the cheese.
you cannot step into the same river twice.
better late than never, but never late is better.
the fox was quick, the dog was lazy, and the sentence used every letter.
she sells sea shells by the sea shore.
a naive question can be the best kind of question.
the cafe on the square serves the best hot chocolate in town.
the fiancee and her fiance argued about the guest list all through the cafe lunch.
his resume listed four languages, two degrees and one very strange hobby.
the crossword clue was seven letters, starting with q.
my favourite word is defenestration, which means throwing someone out of a window.
a group of crows is called a murder, and a group of owls is called a parliament.
the thermostat was set to eighteen degrees, but the office felt like a sauna.
in the middle of the night, long after the last guests had gone home and the musicians had packed away their instruments, the old caretaker walked slowly through the empty hall, switching off the lights one by one and humming the final song to himself.
""".strip().splitlines()

# --- generation ------------------------------------------------------------------------------------

_SLOT = re.compile(r"\{(\w+)\}")


def fill(template: str, rng: random.Random) -> str:
    """Replace every {slot} independently: repeated slots get (usually) different words."""
    def one(match):
        slot = match.group(1)
        return GENERATED[slot](rng) if slot in GENERATED else rng.choice(WORDS[slot])
    return _SLOT.sub(one, template)


def word_count(sentence: str) -> int:
    return len(sentence.split())


def templated_sentence(rng: random.Random) -> str:
    topic = rng.choice(sorted(TEMPLATES))
    sentence = fill(rng.choice(TEMPLATES[topic]), rng)
    if rng.random() < 0.15:  # some sentences start with a discourse marker
        sentence = f"{rng.choice(WORDS['opener'])} {sentence}"
    return sentence


def compound_sentence(rng: random.Random, target_words: int) -> str | None:
    """Clauses joined by connectors until the sentence has exactly target_words words, if it can."""
    for _attempt in range(200):
        parts = [fill(rng.choice(CLAUSES), rng)]
        if rng.random() < 0.3:
            parts[0] = f"{rng.choice(WORDS['opener'])} {parts[0]}"
        while word_count("".join(parts)) < target_words:
            parts.append(f"{rng.choice(WORDS['connector'])} {fill(rng.choice(CLAUSES), rng)}")
        if word_count("".join(parts)) == target_words:
            return "".join(parts) + rng.choice([".", ".", ".", "!"])
    return None


def fragment(rng: random.Random, target_words: int | None = None) -> str | None:
    """A fragment; with target_words, one of exactly that many words, if one turns up."""
    for _attempt in range(200):
        candidate = fill(rng.choice(FRAGMENTS), rng)
        if target_words is None or word_count(candidate) == target_words:
            return candidate
    return None


def generate(seed: int, count: int) -> list[str]:
    """`count` distinct lower-cased sentences of MIN_WORDS..MAX_WORDS words, shuffled."""
    rng = random.Random(seed)
    sentences: dict[str, None] = {}  # insertion-ordered set: the output must not depend on hashing

    def add(sentence: str | None) -> None:
        if sentence and MIN_WORDS <= word_count(sentence) <= MAX_WORDS:
            sentences.setdefault(sentence.lower(), None)

    for sentence in HAND_WRITTEN:
        add(sentence)
    # Every length gets its share first, so long sentences are not left to chance.
    for target in range(MIN_WORDS, MAX_WORDS + 1):
        have = sum(1 for s in sentences if word_count(s) == target)
        for _ in range(max(0, MIN_PER_LENGTH - have)):
            add(fragment(rng, target) if target <= 2 else compound_sentence(rng, target))
    # Then the bulk: mostly single templated sentences, some compounds and fragments.
    while len(sentences) < count:
        roll = rng.random()
        if roll < 0.62:
            add(templated_sentence(rng))
        elif roll < 0.92:
            add(compound_sentence(rng, rng.randint(8, MAX_WORDS)))
        else:
            add(fragment(rng))
    result = list(sentences)
    rng.shuffle(result)  # calibration batches should mix topics and lengths
    return result


def header(seed: int, count: int) -> list[str]:
    return [
        "# calibration corpus for INT8 calibration of an uncased BERT: one lower-cased sentence a line.",
        f"# generated by tools/make_calibration_corpus.py --seed {seed} --count {count}; "
        "edit the script, not this file.",
        "# lines starting with '#' and blank lines are skipped by loaders.",
    ]


def summary(sentences: list[str]) -> str:
    lengths = Counter(word_count(s) for s in sentences)
    words = {w.strip(string.punctuation + "\"'") for s in sentences for w in s.split()} - {""}
    lines = [f"{len(sentences)} sentences, {min(lengths)}..{max(lengths)} words, "
             f"{len(words)} distinct words; sentences per length:"]
    for low in range(MIN_WORDS, MAX_WORDS + 1, 5):
        n = sum(lengths[k] for k in range(low, low + 5))
        lines.append(f"  {low:2d}-{low + 4:2d} words: {n:5d} {'#' * (n // 20)}")
    missing = [k for k in range(MIN_WORDS, MAX_WORDS + 1) if lengths[k] == 0]
    if missing:
        lines.append(f"  lengths never produced: {missing}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="number of sentences")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    if args.count < len(HAND_WRITTEN) + MIN_PER_LENGTH * MAX_WORDS:
        parser.error(f"--count must be at least {len(HAND_WRITTEN) + MIN_PER_LENGTH * MAX_WORDS}")

    sentences = generate(args.seed, args.count)
    args.output.write_text("\n".join(header(args.seed, args.count) + sentences) + "\n")
    print(f"wrote {args.output}")
    print(summary(sentences))


if __name__ == "__main__":
    main()
