"""pyabc's sampler for the fast engine: a generation's parameter sets proposed and run in chunks.

pyabc's samplers hand it one parameter set per model call (`simulate_one` draws a set, runs it,
weighs it). This sampler takes apart the function pyabc gives it: it proposes a chunk of sets
itself, from the generation's transition (or the prior), runs the chunk in one evaluation per
case (`JointModel.simulate`), and only then lets pyabc's own `evaluate_proposal` weigh and accept
each set in the order proposed, until the population is full (the sets proposed after the last
one needed are run but not used; they count as simulations).

A chunk's draws come from a Generator seeded by the calibration's seed, the generation and the
chunk's number: pyabc's transitions draw from numpy's global generator, which is never used here.
A proposal is what pyabc's `AggregatedTransition` of one-dimensional `MultivariateNormalTransition`s
draws: each parameter picks its own ancestor of the last generation by weight and adds a normal
perturbation of that parameter's bandwidth. Its importance weight (prior over proposal density)
is computed for the whole chunk at once; pyabc's own densities loop over the particles.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pyabc
from pyabc.inference_util.inference_util import evaluate_proposal
from scipy.stats import logistic, norm

from sim.experiments.evaluation import Evaluator

FIRST_CHUNK = 2  # a generation's first chunk: this many times the population size
CHUNK_MARGIN = 1.2  # a later chunk: the sets still needed over the generation's acceptance rate,
# times this
MAX_CHUNK = 50_000  # parameter sets proposed and run at once, at most


class BatchSampler(pyabc.sampler.Sampler):
    """Proposes and runs a generation's parameter sets a chunk at a time on `evaluator`.

    `model` is `smc.JointModel`: its `names` (pyabc's parameter names, in order) and
    `simulate(parameters, evaluator)`, after which calling it with one of them looks the set up.
    """

    def __init__(self, model, evaluator: Evaluator, seed: int):
        super().__init__()
        self.model = model
        self.evaluator = evaluator
        self.seed = seed

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf,
                                all_accepted=False, ana_vars=None):
        if not isinstance(simulate_one, partial):
            raise TypeError("BatchSampler needs pyabc's partial simulate function")
        settings = simulate_one.keywords
        from_prior = "transitions" not in settings  # pyabc's calibration sample (t = -1)
        sample = self._create_empty_sample()
        simulated, accepted, chunk_number = 0, 0, 0
        while accepted < n and simulated < max_eval:
            size = n - accepted if from_prior or all_accepted else \
                self.chunk_size(n, accepted, simulated)
            if math.isfinite(max_eval):
                size = min(size, int(max_eval) - simulated)
            rng = np.random.default_rng([self.seed, t + 1, chunk_number])
            values = self.propose(settings, t, size, rng, from_prior)
            proposals = [pyabc.Parameter(dict(zip(self.model.names, row, strict=True)))
                         for row in values.tolist()]
            self.model.simulate(proposals, self.evaluator)
            simulated += size
            chunk_number += 1
            ratios = (np.ones(size) if from_prior or t == 0
                      else importance_ratios(settings["transitions"][0], self.model.names,
                                             values))
            for theta, ratio in zip(proposals, ratios, strict=True):
                particle = (self.prior_particle(settings, theta) if from_prior
                            else evaluate_proposal(
                                0, theta, t=t, models=settings["models"],
                                summary_statistics=settings["summary_statistics"],
                                distance_function=settings["distance_function"],
                                eps=settings["eps"], acceptor=settings["acceptor"],
                                x_0=settings["x_0"],
                                weight_function=partial(weighed, ratio=ratio),
                                proposal_id=settings["proposal_id"]))
                sample.append(particle)
                accepted += bool(particle.accepted)
                if accepted >= n:
                    break
        self.nr_evaluations_ = simulated
        sample.ok = accepted >= n  # pyabc stops on a population that `max_eval` left short
        return sample

    @staticmethod
    def chunk_size(n: int, accepted: int, simulated: int) -> int:
        """The generation's first chunk is `FIRST_CHUNK` populations; a later one the sets still
        needed over the acceptance rate so far, with a margin; at most `MAX_CHUNK`."""
        if simulated == 0:
            return FIRST_CHUNK * n
        rate = max(accepted, 1) / simulated
        return int(min(MAX_CHUNK, max(n, math.ceil(CHUNK_MARGIN * (n - accepted) / rate))))

    def propose(self, settings: dict, t: int, size: int, rng: np.random.Generator,
                from_prior: bool) -> np.ndarray:
        """`size` parameter sets: from the prior (standard logistic in every parameter, as
        `smc.abc_smc` declares it) in the first generation, else from its transition."""
        names = list(self.model.names)
        if from_prior or t == 0:
            values = rng.logistic(0.0, 1.0, size=(size, len(names)))
        else:
            transition = settings["transitions"][0]
            values = np.empty((size, len(names)))
            for j, name in enumerate(names):
                kernel = transition.mapping[(name,)]
                ancestors = kernel.X[name].to_numpy()
                picked = rng.choice(len(ancestors), size=size, p=kernel.w)
                values[:, j] = ancestors[picked] + rng.normal(
                    0.0, math.sqrt(float(kernel.cov[0, 0])), size=size)
        return values

    @staticmethod
    def prior_particle(settings: dict, theta: pyabc.Parameter) -> pyabc.Particle:
        """A calibration sample's particle (pyabc's `_simulate_one_from_prior` with the set
        given): accepted, weight 1, its distance computed later by pyabc."""
        result = settings["models"][0].summary_statistics(0, theta,
                                                          settings["summary_statistics"])
        return pyabc.Particle(m=0, parameter=theta, weight=1.0, sum_stat=result.sum_stat,
                              distance=np.inf, accepted=True, proposal_id=0, preliminary=False)


def importance_ratios(transition, names: list[str], values: np.ndarray) -> np.ndarray:
    """Each proposal's prior density over its proposal density (pyabc's importance weight
    before the acceptance weight), for a chunk at once: the prior is standard logistic in every
    parameter, the proposal the product over parameters of the weighted normal mixtures."""
    prior = np.prod(logistic.pdf(values), axis=1)
    proposal = np.ones(len(values))
    for j, name in enumerate(names):
        kernel = transition.mapping[(name,)]
        ancestors = kernel.X[name].to_numpy()
        sd = math.sqrt(float(kernel.cov[0, 0]))
        proposal *= norm.pdf((values[:, [j]] - ancestors[None, :]) / sd) @ kernel.w / sd
    return prior / proposal


def weighed(m: int, parameter, acceptance_weight: float, ratio: float) -> float:
    """pyabc's weight function of a particle whose importance ratio is known."""
    return acceptance_weight * ratio
