"""The teaching page: the story (`story`, no Solara), its charts (`charts`) and the Solara page
(`page`, served as `solara run sim.app.page:Page`)."""
