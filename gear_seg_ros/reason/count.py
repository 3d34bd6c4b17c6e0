"""How many objects an instruction asks for: the one rule every reasoner follows.

- `referring` mode: the instruction names its target, so its grammatical number decides. "the ripe strawberry",
  "a red card", "the pink scissors", "something to cut with" ask for ONE object; "the ripe strawberries", "all the
  red cards", "both boxes", "three apples" ask for SEVERAL. Wording the rule cannot read counts as several.
- `reasoning` mode: an implicit instruction's grammar does not tell how many objects are meant ("what I need to
  divide the dessert" is the cake and the knife), so the count comes from the evidence: one id per object that
  stands out. The matcher reads it from its scores; the LLMs are told so in their prompt.

`max_targets` stays the upper bound in both modes. Numbers are read in English only.
"""
from __future__ import annotations

import re

ONE, SEVERAL = "one", "several"

_SINGULAR_DETERMINERS = {"a", "an", "one", "this", "that", "the", "my", "your", "its", "his", "her", "their", "our",
                         "single", "only", "another", "any", "which", "whichever"}
_PLURAL_DETERMINERS = {"these", "those", "all", "every", "each", "both", "several", "many", "some", "few", "multiple",
                       "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "dozen", "various"}
_SINGULAR_PRONOUNS = {"something", "anything", "one", "it", "itself", "someone", "object", "thing", "item"}
_PLURAL_PRONOUNS = {"things", "objects", "items", "ones", "everything", "them", "they"}
# Where the noun phrase of the target ends: its last word before these is its head noun.
_PHRASE_END = {"on", "in", "at", "of", "with", "without", "to", "for", "from", "near", "next", "by", "under", "over",
               "above", "below", "behind", "beside", "between", "that", "which", "who", "whose", "where", "i", "you",
               "we", "is", "are", "can", "could", "would", "should", "and", "or", "but", "than", "closest", "nearest",
               "left", "right", "inside", "outside", "around", "into", "onto"}
# Nouns that are plural in form but name one object, and singular nouns ending in s.
_ONE_OBJECT_PLURALS = {"scissors", "pliers", "tongs", "tweezers", "glasses", "spectacles", "goggles", "binoculars",
                       "trousers", "pants", "jeans", "shorts", "shears", "clippers", "secateurs", "headphones"}
_S_SINGULARS = {"bus", "glass", "grass", "gas", "lens", "box", "cactus", "octopus", "bonus", "virus", "status",
                "canvas", "atlas", "class", "dress", "press", "mattress", "compass", "chassis", "series", "species"}
_DIGITS = re.compile(r"^\d+$")


def _words(instruction: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", instruction.lower())


def _is_plural_noun(word: str) -> bool:
    if word in _ONE_OBJECT_PLURALS or word in _S_SINGULARS or word in _SINGULAR_PRONOUNS:
        return False
    if word in _PLURAL_PRONOUNS or word in {"people", "children", "men", "women", "feet", "teeth", "mice", "geese"}:
        return True
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is"))


def requested_number(instruction: str) -> str:
    """ONE or SEVERAL, from the instruction's wording (see the module docstring)."""
    words = [w for w in _words(instruction) if w not in {"please", "segment", "find", "select", "pick", "grasp",
                                                          "show", "me", "get", "give", "point", "out", "up"}]
    if not words:
        return SEVERAL
    for w in words:
        if w in _PLURAL_DETERMINERS or (_DIGITS.match(w) and int(w) > 1):
            return SEVERAL
    first = words[0]
    if first in _SINGULAR_PRONOUNS:
        return ONE
    if first in _PLURAL_PRONOUNS:
        return SEVERAL
    start = 1 if first in _SINGULAR_DETERMINERS else 0
    phrase = []
    for w in words[start:]:
        if w in _PHRASE_END:
            break
        phrase.append(w)
    if not phrase:
        return ONE if start else SEVERAL
    head = phrase[-1]
    if _is_plural_noun(head):
        return SEVERAL
    return ONE if start or len(phrase) == len(words) else SEVERAL


def count_rule(instruction: str, mode: str) -> str:
    """ONE when the answer must be one object, SEVERAL when one id per object found (up to max_targets)."""
    return requested_number(instruction) if mode == "referring" else SEVERAL


def prompt_rule(instruction: str, mode: str, max_targets: int) -> str:
    """The count rule as the LLM reasoners are told it (the matcher applies the same one to its scores)."""
    if count_rule(instruction, mode) == ONE:
        return ("The instruction asks for ONE object: give exactly one id, the region that shows that whole object "
                "best (not one of its parts), or [] if no region matches.")
    if mode == "referring":
        return (f"The instruction asks for several objects: give one id per matching object (the region that shows "
                f"each whole object), at most {max_targets}; [] if no region matches.")
    return (f"The instruction may be about one object or several: give one id per object it is about (the region "
            f"that shows each whole object), at most {max_targets}; [] if no region fits. Do not list regions that "
            f"merely come first.")


# Words that make an instruction a sentence (a purpose, a question) rather than a noun phrase naming the target.
_SENTENCE_WORDS = {"i", "you", "we", "me", "my", "need", "want", "can", "could", "would", "should", "is", "are", "to",
                   "use", "used", "for", "that", "which", "who", "what", "where", "how", "why", "something",
                   "anything", "someone", "do", "does", "if", "help"}


def resolve_mode(instruction: str, mode: str) -> str:
    """`auto` (the CLI's default): a noun phrase naming the target ("the ripe strawberry", "the strawberry on the
    left") is `referring`; a sentence or a purpose ("something to cut the tape with", "what I need to ...") is
    `reasoning`. Other modes pass through."""
    if mode != "auto":
        return mode
    words = _words(instruction)
    return "reasoning" if not words or _SENTENCE_WORDS & set(words) else "referring"
