"""A small labelled corpus for memory quality: memories on many topics, queries with known answers.

Each *fact* is a task a user gave with its answer, stored as autoplug stores it
(``Task: ...`` / ``Answer: ...``, and an observation of the step that found it);
each fact also has a *query*: the same question asked again in other words, whose
relevant memories are that fact's two. *Unrelated* queries are tasks no memory
is about: everything recalled for them is irrelevant.
"""

from __future__ import annotations

from dataclasses import dataclass

CAPITALS = {
    "Norway": "Oslo", "Kenya": "Nairobi", "Peru": "Lima", "Japan": "Tokyo",
    "Canada": "Ottawa", "Egypt": "Cairo", "Chile": "Santiago", "Vietnam": "Hanoi",
    "Poland": "Warsaw", "Ghana": "Accra", "Nepal": "Kathmandu", "Cuba": "Havana",
    "Iceland": "Reykjavik", "Austria": "Vienna", "Morocco": "Rabat",
}  # fmt: skip
PLANETS = {
    "Mercury": "4,879", "Venus": "12,104", "Mars": "6,779", "Jupiter": "139,820",
    "Saturn": "116,460", "Uranus": "50,724", "Neptune": "49,244",
}  # fmt: skip
BOOKS = {
    "Moby-Dick": "Herman Melville", "Middlemarch": "George Eliot",
    "The Trial": "Franz Kafka", "Beloved": "Toni Morrison",
    "Things Fall Apart": "Chinua Achebe", "The Leopard": "Giuseppe Tomasi di Lampedusa",
    "Hunger": "Knut Hamsun", "Pedro Paramo": "Juan Rulfo",
    "The Master and Margarita": "Mikhail Bulgakov", "Dune": "Frank Herbert",
}  # fmt: skip
ELEMENTS = {
    "carbon": 6, "oxygen": 8, "sodium": 11, "iron": 26, "copper": 29, "silver": 47,
    "gold": 79, "mercury": 80, "lead": 82, "uranium": 92, "neon": 10, "calcium": 20,
}  # fmt: skip
ANIMALS = {
    "cheetah": 110, "greyhound": 72, "ostrich": 70, "horse": 88, "kangaroo": 71,
    "grizzly bear": 56, "house cat": 48, "elephant": 40, "rabbit": 56, "zebra": 64,
}  # fmt: skip
GIT = {
    "undo the last commit but keep the changes": "git reset --soft HEAD~1",
    "rename the current branch": "git branch -m NEW_NAME",
    "see who changed each line of a file": "git blame FILE",
    "stash uncommitted changes": "git stash push",
    "delete a remote branch": "git push origin --delete BRANCH",
    "show the commits of one file": "git log --follow FILE",
    "change the last commit message": "git commit --amend",
    "list the tags": "git tag --list",
}  # fmt: skip
LANGS = {
    "Python": "items[::-1] or reversed(items)", "JavaScript": "array.reverse()",
    "Rust": "vec.reverse()", "Go": "slices.Reverse(s)", "Ruby": "array.reverse",
    "Java": "Collections.reverse(list)", "Haskell": "reverse xs", "C#": "list.Reverse()",
}  # fmt: skip
COOKING = {
    "a soft-boiled egg": "6 minutes", "basmati rice": "12 minutes", "spaghetti": "10 minutes",
    "fresh corn on the cob": "5 minutes", "red lentils": "20 minutes",
    "quinoa": "15 minutes", "broccoli florets": "3 minutes", "potatoes": "20 minutes",
}  # fmt: skip
RIVERS = {
    "Nile": "6,650", "Amazon": "6,400", "Yangtze": "6,300", "Mississippi": "3,730",
    "Danube": "2,850", "Rhine": "1,230", "Mekong": "4,350", "Volga": "3,530",
}  # fmt: skip
SETTINGS = {
    "the dark mode of the dashboard": "Settings > Appearance > Theme",
    "two-factor login": "Settings > Security > Two-factor authentication",
    "the weekly email digest": "Settings > Notifications > Digest",
    "the API tokens": "Settings > Developer > Tokens",
    "the billing address": "Settings > Billing > Address",
    "the default time zone": "Settings > General > Time zone",
}  # fmt: skip
UNRELATED = [
    "Write a haiku about autumn leaves.",
    "Convert 5 miles to kilometres.",
    "Draft a polite email declining a meeting invitation.",
    "What is the derivative of x squared times sine x?",
    "Suggest a name for a bakery that sells sourdough.",
    "Explain how a heat pump works in simple words.",
    "Sort these numbers: 42, 7, 19, 3.",
    "Translate 'good morning' into Swahili.",
    "What are good stretches after running?",
    "Summarise the plot of Hamlet in two sentences.",
    "How many seconds are there in a week?",
    "Plan a three-day trip to the Scottish Highlands.",
    "Write a SQL query counting orders per customer.",
    "Give me a packing list for a winter camping trip.",
    "What is the difference between TCP and UDP?",
    "Recommend a board game for four players.",
    "How do I fix a squeaky door hinge?",
    "Compose a limerick about a forgetful robot.",
    "What causes the northern lights?",
    "List three uses of baking soda for cleaning.",
    "Explain compound interest with an example.",
    "How should I water a cactus in summer?",
    "What is a good warm-up before lifting weights?",
    "Describe the rules of cricket briefly.",
    "Create a weekly budget template.",
    "Tell me a fun fact about octopuses.",
    "How do vaccines train the immune system?",
    "Write a regular expression matching email addresses.",
    "What's a polite way to ask a neighbour to turn down music?",
    "Explain what a blockchain is to a child.",
]


@dataclass(frozen=True)
class Fact:
    """One remembered task: its stored texts and a query asking for it again."""

    task: str
    answer: str
    observation: str
    query: str


def _fact(task: str, answer: str, tool: str, seen: str, query: str) -> Fact:
    observation = f"Observed for the task {task!r}: asset 'result' from tool {tool}: {seen}"
    return Fact(task, answer, observation, query)


def facts() -> list[Fact]:
    """Every fact of the corpus (a few hundred memories once stored)."""
    out: list[Fact] = []
    for country, city in CAPITALS.items():
        out.append(
            _fact(
                f"What is the capital of {country}?",
                f"The capital of {country} is {city}.",
                "web_search",
                f'[{{"title": "{city} - {country}", "snippet": "{city} is the capital city"}}]',
                f"Which city is {country}'s seat of government?",
            )
        )
    for planet, km in PLANETS.items():
        out.append(
            _fact(
                f"How big is the planet {planet}?",
                f"{planet} has a mean diameter of {km} km.",
                "read_file",
                f"{planet}: mean diameter {km} km",
                f"What is the diameter of {planet}?",
            )
        )
    for book, author in BOOKS.items():
        out.append(
            _fact(
                f"Who wrote {book}?",
                f"{book} was written by {author}.",
                "web_search",
                f'[{{"title": "{book} (novel)", "snippet": "a novel by {author}"}}]',
                f"Who is the author of the novel {book}?",
            )
        )
    for element, number in ELEMENTS.items():
        out.append(
            _fact(
                f"What is the atomic number of {element}?",
                f"The atomic number of {element} is {number}.",
                "browse_url",
                f"{element.capitalize()} (Z = {number}) is a chemical element",
                f"How many protons does an atom of {element} have?",
            )
        )
    for animal, kmh in ANIMALS.items():
        out.append(
            _fact(
                f"How fast can a {animal} run?",
                f"A {animal} can run at about {kmh} km/h.",
                "web_search",
                f"top speed of the {animal}: {kmh} km/h",
                f"What is the top speed of a {animal}?",
            )
        )
    for action, command in GIT.items():
        out.append(
            _fact(
                f"How do I {action} in git?",
                f"Use `{command}`.",
                "browse_url",
                f"To {action}: {command}",
                f"What git command will {action}?",
            )
        )
    for lang, how in LANGS.items():
        out.append(
            _fact(
                f"How do I reverse a list in {lang}?",
                f"In {lang}: {how}.",
                "browse_url",
                f"{lang} documentation: {how}",
                f"What is the {lang} way to flip the order of a list?",
            )
        )
    for food, minutes in COOKING.items():
        out.append(
            _fact(
                f"How long should I boil {food}?",
                f"Boil {food} for {minutes}.",
                "web_search",
                f"cooking time for {food}: {minutes}",
                f"What cooking time does {food} need in boiling water?",
            )
        )
    for river, km in RIVERS.items():
        out.append(
            _fact(
                f"How long is the {river} river?",
                f"The {river} is about {km} km long.",
                "web_search",
                f"{river}: length {km} km",
                f"What is the length of the {river}?",
            )
        )
    for thing, where in SETTINGS.items():
        out.append(
            _fact(
                f"Where do I change {thing} in our app?",
                f"{thing.capitalize()} is under {where}.",
                "read_file",
                f"docs/settings.md: {thing}: {where}",
                f"How can I find the setting for {thing}?",
            )
        )
    return out
