"""The member foreign ministry: one Mesa agent per member of the group.

Each method is one step of the ODD's process overview and calls the mechanism it names in
`sim.model.rules`. An agent reads only its own state, the run's tape and calendar, and the model's
`view` of the group as it stood before members acted this quarter, so the order in which agents
are activated never changes the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.model import rules
from sim.model.params import MemberParams

if TYPE_CHECKING:
    from sim.model.mesa_engine import MinilateralModel


class MemberMinistry(mesa.Agent):
    """A member's foreign ministry: budget, crises, minister, engagement, outside option."""

    model: MinilateralModel

    def __init__(self, model: MinilateralModel, index: int, params: MemberParams):
        super().__init__(model)
        self.index = index
        self.params = params
        self.code = params.code
        self.name = params.name or params.code
        self.status = rules.PENDING
        self.log_budget = rules.budget_path(params.budget_trend, -1, 0.0)
        self.budget = 1.0  # available for the group, share of the founding budget
        self.crisis = False
        self.crisis_left = 0
        self.enthusiasm = params.founding_enthusiasm
        self.new_minister = False
        self.attention = 1.0
        self.engagement = 0.0
        self.value = self.cost = self.outside = self.net_value = 0.0
        self.in_rival = params.in_rival
        self.invited = False
        self.disengaged = 0

    @property
    def active(self) -> bool:
        return self.status == rules.ACTIVE

    def face_circumstances(self) -> None:
        """Join if due; then budget (M1), domestic crisis (M2) and a new minister (M3)."""
        model, p, i, t = self.model, self.params, self.index, self.model.quarter
        dated = model.calendar.dated
        if self.status == rules.PENDING and dated.joins_at[i] == t:
            self.status = rules.ACTIVE
            self.engagement = p.initial_engagement
        path_before = rules.budget_path(p.budget_trend, t - 1, dated.budget_shift[t - 1, i]
                                        if t > 0 else 0.0)
        path_now = rules.budget_path(p.budget_trend, t, dated.budget_shift[t, i])
        self.log_budget = rules.budget_step(
            self.log_budget, path_before, path_now, p.budget_reversion, p.budget_volatility,
            model.shocks.budget[t, i])
        group = model.scenario.group
        self.budget = rules.available_budget(
            self.log_budget, model.scenario.group.secretariat_dues * group.secretariat,
            model.scenario.world.budget_floor)
        hazard = np.where(model.calendar.global_crisis[t],
                          model.scenario.world.crisis_hazard_factor, 1.0)
        length = rules.crisis_length(model.shocks.crisis_length[t, i], p.crisis_years)
        self.crisis, self.crisis_left = rules.crisis_step(
            self.crisis_left, model.shocks.crisis_onset[t, i], length,
            rules.crisis_onset_probability(p.crisis_rate, hazard), dated.forced_crisis[t, i])
        self.new_minister = bool(model.calendar.new_government[t, i])
        if self.new_minister:
            self.enthusiasm = rules.minister_enthusiasm(
                model.shocks.enthusiasm[t, i], p.enthusiasm_mean, p.enthusiasm_spread)

    def consider_rival_bloc(self) -> None:
        """M9: an invitation to the rival bloc, and whether to accept it."""
        model, p, i, t = self.model, self.params, self.index, self.model.quarter
        self.invited = bool(rules.rival_invitations(
            model.calendar.rival_round[t], model.calendar.dated.invitation[t, i],
            model.scenario.world.rival_pull, p.rival_affinity, self.active, self.in_rival,
            model.shocks.rival_invite[t, i]))
        if rules.rival_joins(self.invited, p.rival_affinity, self.engagement,
                             model.shocks.rival_join[t, i]):
            self.in_rival = True

    def choose_engagement(self) -> None:
        """M4–M6: weigh value against cost and move engagement toward the target."""
        if not self.active:
            return
        model, p, i = self.model, self.params, self.index
        g, w, view = model.scenario.group, model.scenario.world, model.view
        value = (
            rules.network_value(view.partners[i], p.capacity_need, g.network_weight,
                                g.network_partners)
            + rules.visibility_value(view.visibility, g.base_rate, p.regional_fit,
                                     g.visibility_weight)
            + rules.diversification_value(p.regional_fit, g.diversification_value)
            + rules.crisis_coordination_value(view.global_crisis, view.chair_effort,
                                              w.crisis_coordination_value)
        )
        cost = rules.participation_cost(
            g.participation_cost, p.cost_burden, g.agenda_breadth, g.reference_breadth,
            view.n_active, g.network_partners, g.coordination_elasticity, g.secretariat,
            g.secretariat_saving, self.budget)
        outside = rules.outside_option(self.in_rival, w.rival_pull, w.rival_outside_value)
        self.value, self.cost, self.outside = value, cost, outside
        self.net_value = value - cost - outside
        self.attention = rules.attention(self.crisis, p.crisis_depth, self.in_rival,
                                         w.rival_split,
                                         model.calendar.dated.attention_factor[model.quarter, i])
        target = rules.engagement_target(
            self.attention, rules.effective_enthusiasm(self.enthusiasm, g.personalization),
            g.standby, g.value_sensitivity, self.net_value, g.chair_boost, view.chair == i)
        self.engagement = rules.engagement_step(self.engagement, target, g.adjust_rate)

    def consider_exit(self) -> None:
        """M10: leave after long disengagement if staying is worth less than leaving costs."""
        if not self.active:
            return
        g = self.model.scenario.group
        self.disengaged = rules.disengaged_quarters(self.disengaged, self.engagement,
                                                    g.exit_threshold, True)
        exit_cost = rules.member_exit_cost(self.params.exit_cost, g.treaty, g.treaty_exit_cost)
        stay = rules.staying_value(self.value, self.cost, self.engagement, self.outside)
        if rules.exits(True, self.disengaged, g.exit_patience, stay, exit_cost):
            self.status = rules.EXITED
            self.engagement = 0.0
