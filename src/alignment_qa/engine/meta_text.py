"""Sentences in which a page talks about itself, not about its subject: they are never quoted as claims.

``is_meta_text(sentence)`` is true for a signpost ("The next section explores …", "We talk more about this in the
scheming section.", "We cover … in the section on dangerous propensities.", "the next few paragraphs present …",
"Let's take a closer look."), a cross-reference ("See the chapter on Agent Foundations."), a note
to the reader ("You do not need to read this to understand the core points."), a pointer to a picture ("The following
graph gives an overview of the findings."), a label heading glued to its text ("Example: Runtime attacks in the real
world ."), a quote's title with its speaker ("“Shut it all down” - Eliezer Yudkowsky"), a list's lead ending in a
full stop ("Here are just a few of them.", "Following are all the possible types of behaviors …"), a topic left
for a later part ("These limitations will be explored in more detail in the Critics of Interpretability
section.", "Examples of this are provided in the subsequent sections on reward hacking."), the lead of a list of
findings ending in a full stop ("We can provide a few of the results arguing both for and against this outlook."), what
the text must do first ("Before we get into X, we need to understand Y.") and a recap ("In the
previous section, we explored how …"). Each pattern leaves out a sentence that goes on to
say something ("We saw in the previous chapter that AI systems are …", "The figure shows that …", "This section of
the EU AI Act will apply to …"). Rules came from an audit of every sentence of ../shared/corpus; they are English
only. A chapter's overview of its own sections ("Goal Misgeneralization : This section introduces …") answers "what
does the chapter cover?" and is kept: "introduces" and "lays the groundwork" are no signpost verbs here, and neither
is what a reader should know before reading a chapter (a user may ask for it).
"""

from __future__ import annotations

import re

# a signpost, "The next section explores …", "In this section we will go through …": where the text goes, not a claim
_SECTION_SIGNPOST = re.compile(
    r"\b(?:next|following|this|these|rest\s+of\s+this|previous)\s+(?:few\s+)?(?:(?:sub)?(?:section|chapter)s?|"
    r"(?<!this\s)(?<!these\s)paragraphs?)\b"  # "the next few paragraphs present" (not a law's "this paragraph")
    r"(?!\s+(?:of|\d))"  # "This section of the EU AI Act will apply to …" is about a law
    r".{0,30}?"
    r"\b(?:will|we\s+will|we['’]ll|focus(?:es)?|discuss(?:es)?|covers?|explores?|looks?|examines?|builds?|"
    r"considers?|outlines?|details?|describes?|presents?|explains?|elucidates?|reviews?)\b|"
    r"\bin\s+this\s+(?:sub)?(?:section|chapter),?\s+we\b|"
    r"\b(?:at|via|through|from|in)\s+(?:this|the\s+following)\s+link\b|"  # "… is compiled at this link."
    r"^(?:(?:here|now|first|next|below),?\s+)?(?:we['’]ll|we\s+will|let['’]s|let\s+us)\s+(?:now\s+|first\s+|briefly\s+)?"
    r"(?:look|see(?!\s+(?:that|how|why))|explore|discuss|examine|go\s+through|turn|start|begin|dive|cover|focus|walk)\b",
    re.I,
)
_BOOK_PART = r"(?:(?:sub)?sections?|chapters?|appendix|appendices|book|text(?:book)?(?![-\w])|introduction)"
_BOOK_VERB = (
    r"(?:talk(?:s|ed|ing)?|discuss(?:es|ed|ing)?|cover(?:s|ed|ing)?|explor(?:e|es|ed|ing)|examin(?:e|es|ed|ing)|"
    r"explain(?:s|ed|ing)?|spoke|speak|saw|see|go(?:es|ing)?|div(?:e|es|ing)|delv(?:e|es|ing)|"
    r"look(?:s|ed|ing)?|touch(?:es|ed)?|dedicat(?:e|es|ed)|give|gave|begin(?:s)?|start(?:s|ed)?|detail(?:s|ed)?|"
    r"describ(?:e|es|ed)|mention(?:s|ed)?|focus(?:es|ed)?|return|revisit|address|present(?:s|ed)?|highlight(?:s|ed)?|"
    r"outlin(?:e|es|ed)|review(?:s|ed)?|gets?\s+into)"
)
# the book talking about itself in the first person plural, with no clause that states something ("that …",
# " - …", ": …", "why", "how")
_WE_SIGNPOST = re.compile(
    r"^(?:(?:Here|Now|First|Next|Then|Finally|Later|So|But|And),?\s+)?"
    r"we(?:['’]ll|['’]ve|\s+will|\s+also|\s+then|\s+first|\s+next|\s+now|\s+briefly|\s+just|\s+already|\s+have|\s+had|"
    r"\s+be|\s+can|\s+shall|\s+again|\s+previously|\s+only)*\s+" + _BOOK_VERB + r"\b"
    r"(?=.*\b(?:" + _BOOK_PART + r"|throughout|in\s+detail|more\s+(?:deeply|detail))\b"
    r"|.*\b(?:later|earlier|previously)(?:\s+on)?\s*\.?$)"  # "… later." (not "later in training")
    r"(?!.*\bthat\s+(?!we\b)\w+\s+\w+)(?!.*(?:\s[-–—]\s|:\s))(?!.*\b(?:why|how)\b)",
    re.I,
)
# "We talk about how we can measure situational awareness in the evaluations chapter, …", "We cover evaluations that
# test … in the section on dangerous propensities.": where the book treats a topic, even when the topic is a "how" or
# "why" clause
_WE_TREAT_IN_PART = re.compile(
    r"^we\s+(?:also\s+|will\s+|then\s+)?(?:talk(?:s|ed)?|cover(?:s|ed)?|discuss(?:es|ed)?|dedicated?)\b"
    r".*\bin\s+(?:the|this|a|our)\s+(?:[\w-]+\s+){0,4}(?:sub)?(?:section|chapter)s?\b",
    re.I,
)
# a part of the book as the subject of a verb of presenting ("This chapter is mostly not focusing on AI ethics.")
_PART_SIGNPOST = re.compile(
    r"^(?!.*(?::\s|\bwhy\b|\bhow\b|\b(?:also\s+)?known\s+as\b|\bcalled\b))(?:(?:Overall|However|So|Finally|Thus),?\s+)?"
    r"(?:This|The|Our|That|Each)\s+(?:(?:next|previous|following|final|first|last|current|entire|subsequent|whole)\s+)*"
    r"(?:(?:sub)?section|chapter|appendix|book|introduction)s?\s+(?:(?:also|then|now|largely|first|mostly)\s+)?"
    r"(?:explores|begins|starts|ends|concludes|provides|contains|aims|delves|dives|builds|breaks|"
    r"discusses|focuses|examines|investigates|goes|gave|has\s+provided|uses|assumes|is\s+(?:still\s+being\s+written|meant|"
    r"dedicated|mostly)|serves|will|covers|presents|describes|outlines|reviews|explains|considers|looks|details|"
    r"elucidates|summari[sz]es|highlights|proceeds|explored|offers|not)\b"
)
# "See the chapter on X.", "For more information, see …", "… are listed here."
_CROSS_REFERENCE = re.compile(
    r"^(?:For\s+(?:more|further|a\s+more)\s[^.]{0,160}?,?\s*(?:see|please\s+read|read|refer\s+to|check|look\s+at)\b|"
    r"(?:See|Read|Refer\s+to|Check\s+out)\s+(?:also\s+)?(?:the\s+|our\s+)?(?:\w+\s+)?(?:(?:sub)?sections?|chapters?|"
    r"appendix|box|figure|table|video|paper|post|article|link|website|phenomenon|work)\b|More\s+on\s+this\s+in\b)|"
    r"\b(?:(?:is|are)\s+(?:listed|available|compiled|collected|described)|see\s+(?:the\s+)?(?:[\w-]+\s+){0,3})\s*here\.$|"
    r"\bis\s+available\s+at\s+[\w.-]+\.[a-z]{2,}\.?$|\bsee\s*\([^()]*\d{4}[^()]*\)\.?$"
)
# optional reading, skipping, status banners
_READER_NOTE = re.compile(
    r"\b(?:you\s+(?:can|may)\s+(?:safely\s+)?skip|you\s+do\s+not\s+need\s+to\s+read|"
    r"(?:section|appendix|appendices|chapter|box|part|reading)s?\s+(?:is|are)\s+optional\b|"
    r"it['’]s\s+ok(?:ay)?\s+not\s+to\s+understand|by\s+the\s+end\s+of\s+this\s+(?:chapter|section)|"
    r"hope\s+(?:that\s+)?reading\s+this|keep\s+(?:this|that|these)\s+(?:\w+\s+)?in\s+mind|"
    r"for\s+(?:reasons\s+of\s+)?completeness|work\s+in\s+progress|still\s+being\s+written|"
    r"has\s+not\s+been\s+updated\s+since|might\s+not\s+be\s+representative\s+of)",
    re.I,
)
# a picture as the subject ("The following graph gives an overview …"), not "The figure shows that …"
_PICTURE_SUBJECT = re.compile(
    r"^(?:(?:However|As\s+an\s+example|Overall),?\s+)?(?:The|This|These|In\s+the)\s+(?:following\s+|live\s+)?"
    r"(?:image|figure|diagram|graph|chart|table|box|video|illustration|plot|picture|animation|infographic)s?"
    r"(?:\s+and\s+(?:image|figure|diagram|graph|chart|table)s?)?(?:\s+(?:below|above))?+"
    r"(?!\s+(?:shows?|illustrates?|demonstrates?|reveals?)\s+(?:that|how)\b)"
    r"\s+(?:gives?|presents?|is|are|summari[sz]es|depicts?|represents?|displays?|compares?|provides?|shows?|"
    r"illustrates?|demonstrates?|lists?|contains?|takes?)\b|"
    r"\b(?:consider|see|look\s+at|refer\s+to)\s+(?:the\s+)?(?:box|figure|image|diagram|graph|chart|table|video)s?\s+"
    r"(?:below|above)\b",
    re.I,
)
# only points at a picture: "These can be distinguished from the image below.", "This is indicated by the arrow.",
# "The figure shows how using the Logit Lens looks in practice." (a longer sentence says more)
_PICTURE_POINTER = re.compile(
    r"\b(?:shown|seen|illustrated|depicted|distinguished|visuali[sz]ed|summari[sz]ed)\s+(?:in|from|on|by)\s+the\s+"
    r"(?:image|figure|diagram|table|chart|graph|picture|illustration)\s+(?:below|above)\b|"
    r"\b(?:indicated|shown|marked|highlighted|depicted)\s+(?:by|with)\s+(?:the\s+)?(?:arrows?|dotted|dashed|boxes)\b|"
    r"^(?:The|This)\s+(?:figure|image|diagram|graph|chart|illustration|picture)\s+(?:below\s+|above\s+)?shows\s+how\b"
    r".*\b(?:looks?|works?)\s+in\s+practice\b",
    re.I,
)
POINTER_MAX_WORDS = 12
_LETS = re.compile(r"^Let(?:['’]s|\s+us)\b")
# a list's lead that ends with a full stop: "Here are just a few of them.", "… for the following reason."
_LEAD_IN = re.compile(
    r"^Here\s+(?:are|is)\b(?!.*:\s)|^Following\s+are\b[^:]*\.$|^(?:[^,]{0,40},\s+)?[Tt]he\s+following\s+(?:\w+\s+)?(?:is|are|reasons?|steps?|story|"
    r"stories|examples?|list|ways?)\b(?!.*:\s)|\bas\s+follows\.$|\bfor\s+the\s+following\s+reasons?\.$"
)
# where a topic is left for later, as the whole sentence: "These limitations will be explored in more detail in the
# Critics of Interpretability section." (not "…, and its limitations will be discussed in later sections.", which
# first says something)
_LATER_PART = re.compile(
    r"^(?!.*\s(?:and|but|so|because|while|although)\s.*\bwill\s+be\b)[^,;:]{1,60}?\bwill\s+be\s+(?:further\s+|briefly\s+)?"
    r"(?:explored|discussed|covered|examined|addressed|detailed|described|explained|presented|analy[sz]ed|elaborated|"
    r"revisited|treated)\b[^,;:]*?\bin\s+[^,;:]*?\b(?:sub)?(?:sections?|chapters?)"
    r"(?:\s+(?:below|later|on\s+[^,;:]{1,80}))?\s*\.?$"
)
# where the text treats something, as the whole sentence: "Examples of this are provided in the subsequent sections
# on reward hacking.", "This is what we explore in the next sections." (not "… is provided in the next section of the
# EU AI Act", a law's part, nor a sentence that says something first)
_ELSEWHERE = (
    r"in\s+(?:the\s+)?(?:subsequent|following|next|later|coming|previous|preceding|earlier|last|other)\s+(?:few\s+)?"
    r"(?:sub)?(?:sections?|chapters?)(?!\s+of\b)(?:\s+(?:on|about)\s+[^,;:]{1,80})?\s*\.?$"
)
_TREATED_ELSEWHERE = re.compile(
    r"^[^,;:]{1,60}?\b(?:is|are)\s+(?:also\s+)?(?:provided|given|presented|discussed|covered|explored|shown|described|"
    r"explained|listed|detailed|examined|addressed)\s+" + _ELSEWHERE + "|"
    r"^(?:This|That|These|Those)\s+(?:is|are)\s+(?:exactly\s+)?what\s+we(?:['’]ll|\s+will)?\s+(?:\w+\s+){0,2}?"
    r"(?:explore|discuss|examine|cover|see|address|describe|investigate|study)\s+" + _ELSEWHERE,
    re.I,
)
# the lead of a list of findings or examples ending in a full stop: "We can provide a few of the results arguing both
# for and against this outlook."
_WE_PROVIDE = re.compile(
    r"^We\s+(?:can|will|now|shall)\s+(?:now\s+)?(?:provide|give|list|present|offer|show)\s+(?:you\s+)?"
    r"(?:a\s+few|some|several|a\s+number|a\s+couple|a\s+list)\b(?!.*\bthat\b)[^:]*\.$"
)
# a recap of an earlier section: "In the previous section, we explored how foundation models are …" (what it
# restates is quotable where it was said); one that goes on (", but …", ": …") is kept
_RECAP = re.compile(
    r"^In\s+(?:our\s+|the\s+|a\s+)?(?:previous|earlier|last|prior)\s+(?:sub)?(?:sections?|chapters?)(?:\s+on\s+[^,]+)?,"
    r"\s+we\s+(?:already\s+)?(?:explored|discussed|saw|looked|talked|covered|examined|introduced|spoke)\b"
    r"(?!\s+that\b)(?!.*(?:,\s+but\b|:\s|\s[-–—]\s))"
)
# what the text must do before it goes on: "Before we get into what we can target, we need to understand what makes
# a good target.", "Before we dive into specific evaluation suites here are some benchmarks …" (not "Before diving
# into techniques, researchers first sought to understand …", which tells what researchers did, nor "Before we get
# AGI, we need to solve alignment.", a claim)
_BEFORE_WE = re.compile(
    r"^Before\s+we\s+(?:can\s+)?(?:(?:get|dive|delve|go)\s+into|talk\s+about|look\s+at|turn\s+to|move\s+on\s+to|"
    r"understand|discuss|explore)\b[^.]{0,200}?(?:,\s|\s)(?:we\s+(?:need|have|must|should|first)|here\s+(?:are|is)|"
    r"let['’]s)\b"
)
# a quote's title with its speaker: "“Shut it all down” - Eliezer Yudkovsky (Yudkowsky, 2023)"
_QUOTE_TITLE = re.compile(r"^[“\"][^”\"]{1,80}[”\"]\s*[-–—]\s*[A-Z][^.]*$")
# "Case study 5: The capabilities approach to intelligence .", "Example: Runtime attacks in the real world ."
_LABEL = re.compile(
    r"^(?:Case\s+[Ss]tudy|Example(?:\s+of\s+[^:]{1,60})?|Exercise|Task|Key\s+[Tt]akeaways?)\s*\d*\s*:\s+(?P<rest>.*)$"
)
LABEL_MAX_WORDS = 12  # what follows a longer label is a sentence of its own


# an overview of what a part of the book or the book's authors present: "The first section begins by categorizing
# risks …", "This section delves into feedback-based strategies …", "We explain how concentrated supply chains …",
# "This is followed by concrete examples of …", "The article … by Holden Karnofsky discusses …"
_ORDINAL = r"(?:first|second|third|fourth|next|final|last|following|previous|current|subsequent|remaining)"
_OVERVIEW = re.compile(
    r"^(?:[^:]{1,60}\s:\s+)?(?:"
    r"(?:This|The|Our)\s+(?:" + _ORDINAL + r"\s+)?(?:sub)?(?:section|chapter)\s+"
    r"(?:also\s+|then\s+|briefly\s+|first\s+)?"
    r"(?:introduces|delves|begins|starts|examines|explores|investigates|covers|provides|presents|describes|discusses|"
    r"focuses|focused|lays|laid|dives|explains|outlines|reviews|is\s+(?:just\s+)?meant)\b|"
    r"This\s+is\s+followed\s+by\b|"
    r"We\s+(?:then\s+|also\s+|first\s+|briefly\s+)?(?:introduced|explain|discuss|describe|cover|examine|explore|outline|"
    r"review|look\s+at|delve\s+into|walk\s+through|go\s+through)\b|"
    r"We\s+(?:begin|start)\s+by\s+(?:exploring|explaining|looking|discussing|describing|examining|introducing|reviewing|"
    r"outlining)\b|"
    r"The\s+(?:article|post|essay|video|talk|podcast)\b[^.]{0,150}?\b(?:discusses|explores|covers|examines)\b)"
)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_RUN_IN_LABEL = re.compile(r"^[^.:]{1,80}?\s?:\s+")  # "Learning by Imitation : " before a paragraph's first sentence
# "It examines …" right after an overview ("This section focuses on …") goes on saying what that part presents
_OVERVIEW_GOES_ON = re.compile(
    r"It\s+(?:also\s+|then\s+)?(?:examines|explores|discusses|covers|introduces|explains|presents|outlines|"
    r"describes|delves|looks\s+at|reviews|addresses|highlights|concludes|shows)\b"
)


def is_overview(sentence: str) -> bool:
    """Whether ``sentence`` says what a part of the book presents ("This section delves into feedback-based
    strategies such as …", "We explain how …"): it answers "what does chapter 6 cover?", not a question about the
    topic itself, which the part's own sentences answer."""
    return bool(_OVERVIEW.match(sentence))


def goes_on_from_overview(sentence: str, before: str) -> bool:
    """Whether ``sentence`` ("It examines proposals such as …") goes on from an overview that ends ``before`` (the
    text before it in its paragraph: "Learning by Imitation : This section focuses on …")."""
    if not _OVERVIEW_GOES_ON.match(sentence):
        return False
    sentences = [part for part in _SENTENCE_END.split(before.strip()) if part]
    last = _RUN_IN_LABEL.sub("", sentences[-1]) if sentences else ""
    return is_overview(last)


def is_meta_text(sentence: str) -> bool:
    """Whether ``sentence`` is the page talking about itself or its reader (see the module docstring)."""
    if _LETS.match(sentence) or _QUOTE_TITLE.match(sentence) or _LEAD_IN.search(sentence) or _RECAP.match(sentence):
        return True
    if _BEFORE_WE.match(sentence) or _LATER_PART.match(sentence):
        return True
    if _READER_NOTE.search(sentence) or _CROSS_REFERENCE.search(sentence):
        return True
    if _SECTION_SIGNPOST.search(sentence) or _WE_SIGNPOST.search(sentence) or _PART_SIGNPOST.search(sentence):
        return True
    if _WE_TREAT_IN_PART.match(sentence) or _TREATED_ELSEWHERE.match(sentence) or _WE_PROVIDE.match(sentence):
        return True
    if _PICTURE_SUBJECT.search(sentence):
        return True
    if len(sentence.split()) <= POINTER_MAX_WORDS and _PICTURE_POINTER.search(sentence):
        return True
    label = _LABEL.match(sentence)
    return label is not None and len(label.group("rest").split()) <= LABEL_MAX_WORDS
