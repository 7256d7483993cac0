"""q4 — one MLP, three ways: Sequential, Functional, subclassing."""

from autograder.checks.models import check_mlp_behaviour, skeleton
from autograder.checks.values import remote
from autograder.judge import test_case

HINT = "Flatten -> Dense(128, relu) -> Dropout(0.2) -> Dense(num_classes, softmax)"


def _check_layers(config, what):
    """The layers the prompt names, in its order. An activation may be the Dense layer's argument or a layer of
    its own after it (a string, a function, ``Activation``, ``ReLU``, ``Softmax``): the behaviour check judges
    it, with the judge's weights."""
    layers = skeleton(config)
    kinds = [layer["class_name"] for layer in layers]
    assert kinds == ["Flatten", "Dense", "Dropout", "Dense"], (
        f"{what} has layers {kinds} (activation layers not counted); expected {HINT}")
    # Units and the dropout rate are judged by what the model does (check_mlp_behaviour), not by its config.


def _each_shape(ctx):
    for shape, classes in ctx.threshold("shapes"):
        yield tuple(shape), int(classes)


@test_case(points=1, hint=HINT)
def sequential_model(sub, ctx):
    units, rate = ctx.integer("hidden_units"), ctx.number("dropout")
    for shape, classes in _each_shape(ctx):
        model = remote(sub, "build_sequential", list(shape), classes)
        _check_layers(sub.config(model), f"build_sequential({shape}, {classes})")
        check_mlp_behaviour(sub, model, shape, classes, units, ctx.rng("seq"),
                            f"build_sequential({shape}, {classes})", rate=rate, fresh=ctx.fresh_rng("dropout"))


@test_case(points=1, hint=HINT + ", written with keras.Input and layer calls")
def functional_model(sub, ctx):
    units, rate = ctx.integer("hidden_units"), ctx.number("dropout")
    for shape, classes in _each_shape(ctx):
        model = remote(sub, "build_functional", list(shape), classes)
        config = sub.config(model)
        assert config.get("class_name") in ("Functional", "Model"), (
            f"build_functional returns a {config.get('class_name')}; build it with keras.Input and keras.Model")
        _check_layers(config, f"build_functional({shape}, {classes})")
        check_mlp_behaviour(sub, model, shape, classes, units, ctx.rng("fun"),
                            f"build_functional({shape}, {classes})", rate=rate, fresh=ctx.fresh_rng("dropout"))


@test_case(points=1, hint=HINT + ", as layers made in __init__ and used in call(inputs, training)")
def subclassed_model(sub, ctx):
    units, rate = ctx.integer("hidden_units"), ctx.number("dropout")
    for shape, classes in _each_shape(ctx):
        model = remote(sub, "MLPModel", list(shape), classes)
        assert "MLPModel" in model.type, f"MLPModel(...) returned a {model.type}"
        check_mlp_behaviour(sub, model, shape, classes, units, ctx.rng("sub"),
                            f"MLPModel({shape}, {classes})", rate=rate, fresh=ctx.fresh_rng("dropout"))
