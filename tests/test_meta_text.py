"""Sentences in which a page talks about itself are not claims; sentences that go on to say something are."""

import pytest

from alignment_qa.engine.meta_text import goes_on_from_overview, is_meta_text, is_overview

META = [
    "We talk more about this in the scheming section.",
    "We talk about how we can measure situational awareness in the evaluations chapter, and more deeply about it.",
    "We talked more about why this is a concern in the subsection on scheming.",
    "We cover evaluations that test a propensity toward deception in the section on dangerous propensities.",
    "That being said, the next few paragraphs present the other modes of alignment for sake of completeness.",
    "We explained SFT in the foundation models section of our capabilities chapter.",
    "This chapter is mostly not focusing on AI ethics.",
    "The next section breaks down the alignment problem using a slightly different taxonomy.",
    "See the chapter on Agent Foundations.",
    "For more information on the scoring, see the appendix.",
    "You do not need to read this to understand the core points of the chapter.",
    "This section is still being written and is considered a work in progress.",
    "The following graph gives an overview of the findings.",
    "These can be distinguished from the image below.",
    "Let's take a closer look at how this works.",
    "Example: Runtime attacks in the real world .",
    "“Shut it all down” - Eliezer Yudkovsky (Yudkowsky, 2023)",
    "Here are just a few of them.",
    "Scalable Oversight would be necessary for the following reason.",
    "In the previous section, we explored how foundation models are becoming increasingly powerful and versatile.",
    "Before we get into what specifically we can target in AI governance, we need to understand what makes a target.",
    "Before we dive into specific evaluation suites here are some benchmarks that focus on cybersecurity.",
    "Following are all the possible types of behaviors that the CoinRun agent could end up displaying.",
    "These limitations will be explored in more detail in the Critics of Interpretability section.",
    "Scalable oversight will be covered in greater depth in future chapters.",
    "Examples of this are provided in the subsequent sections on reward hacking.",
    "This is what we explore in the next sections.",
    "We can provide a few of the results arguing both for and against this outlook.",
    "This is indicated by the arrow.",
    "The figure shows how using the Logit Lens looks in practice.",
]
CLAIMS = [
    "We also talk about underlying factors that amplify all of these risks like competitive pressures.",
    "When we talk about evaluations being used in practice, we're really talking about two distinct processes.",
    "Before diving into techniques for disentangling features, researchers first sought to understand polysemanticity.",
    "Before we can trust a model, we need to verify what it does.",
    "Before we get AGI, we need to solve alignment.",
    "Before we turn control over to AI systems, we need to be confident they are aligned.",
    "We saw in the previous chapter that AI systems are trained end to end.",
    "The figure shows that when GPT-2 tries to predict the next token, later layers matter most.",
    "This section of the EU AI Act will apply to providers of general-purpose models.",
    "Goal Misgeneralization : This section introduces the concept of goals as distinct from rewards.",
    "This chapter lays the groundwork for the entire book by establishing what AI systems can currently do.",
    "Before reading this chapter it is recommended to be familiar with the transformer and CNN architectures.",
    "She defined a “thneeb” as one of the two shapes shown in the image below.",
    "Reward hacking occurs when an agent exploits loopholes in its reward function.",
    "Here is the key result: models trained on more data generalize better.",
    "In the previous section, we saw that scaling works, but the returns are shrinking.",
    "The figure below shows that larger models are more sycophantic.",
    "The image classifier labels the panda as a gibbon after a small perturbation.",
    "The box in which the AI is kept is a thought experiment about containment.",
    "Participation in the code of practice is optional for providers of open models.",
    "Models trained on the following examples are more robust to jailbreaks.",
    "We see this later in training, when the policy starts exploiting the reward model.",
    "However, this is not an infallible solution, and its limitations will be discussed in later sections.",
    "Following literal commands often leads to failures of specification.",
    "Following Hubinger et al. (2019), a system is outer-aligned when its base objective matches the intended one.",
    "Its limitations will be discussed by regulators before the law takes effect.",
    "GPT-4 failed and this will be discussed in the next section.",
    "Applications will be examined by local chapters of the organization.",
    "The code of practice will be presented to the AI Office in subsection 3.",
    "Following is one simple formulation: the discounted sum of future rewards given some policy.",
    "Following is not the same as understanding.",
    "Details are provided in the next section of the EU AI Act.",
    "Rewards are provided in the next section, and the agent learns from them.",
    "We can provide some guarantees that the model is safe.",
    "The figure shows how quickly compute grew between 2010 and 2024, doubling every six months across labs.",
    "The figure shows how training compute doubled every six months since 2010.",
    "Example: a model trained to win a boat race learned to circle forever collecting points, never finishing the "
    "race, because the points were all its reward ever counted.",
]


@pytest.mark.parametrize("sentence", META)
def test_the_page_talking_about_itself_is_meta_text(sentence: str) -> None:
    assert is_meta_text(sentence)


@pytest.mark.parametrize("sentence", CLAIMS)
def test_a_sentence_that_says_something_is_not(sentence: str) -> None:
    assert not is_meta_text(sentence)


def test_related_to_is_a_claim_not_a_related_pages_label() -> None:
    from alignment_qa.engine.evidence import quotable

    assert quotable("Related to this asymmetry is the difficulty of interpreting negative results in AI evaluation.")
    assert not quotable("Related pages: reward hacking, specification gaming")
    assert not quotable("Related to reward hacking and specification gaming")


def test_a_line_of_names_with_a_verb_is_a_claim_not_a_title() -> None:
    from alignment_qa.engine.evidence import quotable

    assert quotable("Russian KUB-BLA, Lancet-3 and Ukrainian Switchblade, Phoenix Ghost are AI-enabled drones.")
    assert not quotable("Examples: Illustrating Verification is Easier Than Generation .")
    assert not quotable("Some Moral and Technical Consequences of Automation.")


def test_an_announced_or_cited_question_is_not_quoted() -> None:
    from alignment_qa.engine.evidence import quotable

    assert not quotable("A critical question we face is: How do we determine the quality of a model?")
    assert not quotable("What do we care about? (Mowshowitz, 2023)")
    assert quotable("Control evaluations produce a probability estimate: given that a model tries, does it succeed?")


def test_pointers_and_posed_questions_are_not_short_claims_or_claims() -> None:
    from alignment_qa.engine.evidence import quotable

    assert not quotable("Figure 3 is shown below.") and not quotable("Results are shown below.")
    assert not quotable("The central question of this chapter: how can we align superhuman models?")


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The first section begins by categorizing risks into three main groups: Misuse, Misalignment.", True),
        ("This section delves into feedback-based strategies such as Reward Modeling.", True),
        ("Goal Misgeneralization : This section introduces the concept of goals as distinct from rewards.", True),
        ("This is followed by concrete examples of reward specification failures such as reward hacking.", True),
        ("We explain how concentrated supply chains enable tracking and monitoring of compute.", True),
        ("We introduced the basics of propensity evaluations in the section on evaluated properties.", True),
        ("We begin by exploring how benchmarks have shaped AI development.", True),
        ('The article "AI Safety Seems Hard to Measure" by Holden Karnofsky discusses the challenges.', True),
        # claims: what a paper shows, what researchers did, a method's first step
        ("The paper presents early theoretical results that indicate any alignment process is fragile.", False),
        ("We started using machine learning techniques on simple Atari games in 2013.", False),
        ("Initial Training : We begin by training a foundational LLM on a broad dataset.", False),
        ("The section on computer vision showed fast progress between 2014 and 2020.", False),
    ],
)
def test_an_overview_of_what_a_part_presents(sentence: str, expected: bool) -> None:
    assert is_overview(sentence) is expected


def test_it_examines_goes_on_from_an_overview_before_it() -> None:
    """ "It examines proposals such as …" after "X : This section focuses on …" says what that section presents;
    after a claim, "It" is what the claim is about ("It highlights how biotechnology and AI are converging")."""
    overview = "Learning by Imitation : This section focuses on proposed solutions to reward misspecification. "
    going_on = "It examines proposals such as imitation learning (IL) and inverse reinforcement learning (IRL)."
    assert goes_on_from_overview(going_on, overview)
    assert goes_on_from_overview("It also explains how debate works.", "Intro. This section explores debate. ")
    assert not goes_on_from_overview(going_on, "Imitation learning copies an expert. ")
    assert not goes_on_from_overview("It fails in new settings.", overview)
