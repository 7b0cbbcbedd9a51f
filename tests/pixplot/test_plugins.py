"""Plugin options for all four kinds: collected for the CLI, clashes refused with one line."""

from __future__ import annotations

import textwrap

import pytest

from pixplot.cli import main
from pixplot.errors import UserError
from pixplot.plugins import all_options


def install(site, module: str, group: str, name: str, cls: str, source: str) -> None:
    """Register a plugin the way pip would: a dist-info folder with its entry point."""
    info = site / f"{module}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{name} = {module}:{cls}\n")
    (site / f"{module}.py").write_text(textwrap.dedent(source))


CLUSTERER = '''
    from pixplot.plugins import Clusterer

    class Halves(Clusterer):
        name = "halves"
        options = {"halves_at": {"type": float, "help": "halves: where to split"}}

        def __init__(self, halves_at=0.0):
            self.halves_at = halves_at

        def cluster(self, X):
            return (X[:, 0] > self.halves_at).astype(int)
'''


def test_options_of_every_kind_are_collected(tmp_path, monkeypatch):
    install(tmp_path, "halves_clusterer", "pixplot.clusterers", "halves", "Halves", CLUSTERER)
    monkeypatch.syspath_prepend(str(tmp_path))
    opts = all_options()
    assert [(o.kind, o.plugin) for o in opts["halves_at"]] == [("clusterer", "halves")]
    assert opts["weights"][0].kind == "embedder"


def test_the_same_option_in_two_kinds_is_refused_naming_both(tmp_path, monkeypatch):
    install(tmp_path, "halves_clusterer", "pixplot.clusterers", "halves", "Halves", CLUSTERER)
    install(tmp_path, "weights_projector", "pixplot.projectors", "heavy", "Heavy", '''
        from pixplot.plugins import Projector

        class Heavy(Projector):
            name = "heavy"
            options = {"weights": {"help": "heavy: a model file"}}
    ''')
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UserError, match=r"--weights is declared by both embedder '\w+' and projector 'heavy'"):
        all_options()


def test_a_plugin_option_named_like_a_build_flag_is_refused():
    with pytest.raises(UserError, match="declares option --weights, which is one of pixplot's own build flags"):
        all_options(reserved={"weights"})


def test_a_clash_fails_the_build_with_one_line_but_other_commands_still_work(tmp_path, monkeypatch, capsys):
    install(tmp_path, "seed_clusterer", "pixplot.clusterers", "seedy", "Seedy", '''
        from pixplot.plugins import Clusterer

        class Seedy(Clusterer):
            name = "seedy"
            options = {"seed": {"type": int}}
    ''')
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["build", "--images", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "clusterer 'seedy' declares option --seed" in err
    assert main(["plugins"]) == 0
    assert "seedy" in capsys.readouterr().out


def test_a_third_party_clusterer_option_reaches_it_from_the_command_line(tmp_path, monkeypatch):
    install(tmp_path, "halves_clusterer", "pixplot.clusterers", "halves", "Halves", CLUSTERER)
    monkeypatch.syspath_prepend(str(tmp_path))
    from pixplot.cli import _build_options, make_parser
    from pixplot.plan import resolve

    args = make_parser().parse_args(["build", "--images", "x", "--cluster", "halves", "--halves_at", "0.25"])
    assert resolve(_build_options(args, "x", None)).clusterer.halves_at == 0.25
