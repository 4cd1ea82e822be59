//! What install and `generations` say about a generation: a bounded
//! summary (the full list under `-v` and in `generations diff`), each
//! generation described relative to the one it replaced (also after a
//! rollback), and `generations diff` naming changed options (credentials
//! redacted) and distributions of a changed part.

use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::wheel::Wheel;

const NAMES: [&str; 8] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
];

/// An index where `alpha` depends on the seven others.
fn wide_index() -> IndexServer {
    let server = IndexServer::start();
    let mut top = Wheel::new("alpha", "1.0");
    for name in &NAMES[1..] {
        top = top.dep(name);
        server.publish(Wheel::new(name, "1.0").build());
    }
    server.publish(top.build());
    server
}

fn egg_config(server: &IndexServer, extra: &str) -> String {
    format!(
        "[buildout]\nparts = app\nindex = {}\n{extra}\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = alpha\n",
        server.index_url()
    )
}

#[test]
fn install_summarises_a_large_generation_and_lists_it_under_verbose() {
    let server = wide_index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &egg_config(&server, ""));
    let out = ctx.ok(&["install"]);
    let last = out.lines().last().unwrap();
    assert_eq!(
        last,
        "Generation 1 is current (+1 part (app), +8 distributions \
         (alpha 1.0, bravo 1.0, charlie 1.0, … and 5 more)).",
        "{out}"
    );
    let list = ctx.ok(&["generations"]);
    assert!(
        list.trim_end().ends_with(
            "+1 part (app), +8 distributions (alpha 1.0, bravo 1.0, charlie 1.0, … and 5 more)   (current)"
        ),
        "{list}"
    );
    // The full list: `-v generations` and `generations diff`.
    let verbose = ctx.ok(&["-v", "generations"]);
    for name in NAMES {
        assert!(
            verbose.contains(&format!("distribution {name}: added 1.0")),
            "{verbose}"
        );
    }
    ctx.ok(&["parts="]);
    let diff = ctx.ok(&["generations", "diff", "2", "1"]);
    for name in NAMES {
        assert!(
            diff.contains(&format!("distribution {name}: added 1.0")),
            "{diff}"
        );
    }
}

#[test]
fn verbose_install_lists_every_change() {
    let server = wide_index();
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", &egg_config(&server, ""));
    let out = ctx.ok(&["-v", "install"]);
    for name in NAMES {
        assert!(
            out.contains(&format!("distribution {name}: added 1.0")),
            "{out}"
        );
    }
    assert!(out.contains("part app: added"), "{out}");
}
const TEMPLATE: &str = r#"[buildout]
parts = conf
port = 8080

[conf]
recipe = collective.recipe.template
output = ${buildout:directory}/etc/app.conf
inline = port = ${buildout:port}
"#;

#[test]
fn a_generation_is_described_relative_to_the_one_it_replaced() {
    let ctx = TestContext::new();
    ctx.write("buildout.cfg", TEMPLATE);
    ctx.ok(&["install"]);
    ctx.ok(&["port=9090"]);
    ctx.ok(&["rollback"]);
    // The same configuration as generation 2, made while 1 was current.
    let out = ctx.ok(&["port=9090"]);
    assert!(out.ends_with("Generation 3 is current (~conf).\n"), "{out}");
    let list = ctx.ok(&["generations"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    assert!(
        lines[2].ends_with("   ~conf (from generation 1)   (current)"),
        "{list}"
    );
    assert!(lines[1].ends_with("   ~conf"), "{list}");
    assert_eq!(
        ctx.ok(&["generations", "diff"]),
        "generation 1 -> 3\npart conf: changed\n    inline: \"port = 8080\" -> \"port = 9090\"\n"
    );
    // Once generation 1 is deleted, 3 is described relative to the one
    // numbered before it (as for a profile made before the record).
    ctx.ok(&["generations", "delete", "1"]);
    let list = ctx.ok(&["generations"]);
    assert!(list.ends_with("   no changes   (current)\n"), "{list}");
    assert_eq!(
        ctx.ok(&["generations", "diff"]),
        "generation 2 -> 3\nno changes\n"
    );
}
#[test]
fn diff_names_the_distributions_of_a_changed_part() {
    let server = IndexServer::start();
    server
        .publish(Wheel::new("web", "1.0").dep("util").build())
        .publish(Wheel::new("util", "1.5").build())
        .publish(Wheel::new("util", "2.1").build());
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = app\nindex = {}\n[versions]\nutil = 1.5\n[app]\nrecipe = zc.recipe.egg:eggs\neggs = web\n",
            server.index_url()
        ),
    );
    ctx.ok(&["install"]);
    ctx.ok(&["versions:util=2.1"]);
    let diff = ctx.ok(&["generations", "diff"]);
    assert_eq!(
        diff,
        "generation 1 -> 2\npart app: changed\n    distribution util: 1.5 -> 2.1\ndistribution util: 1.5 -> 2.1\n"
    );
}

#[test]
fn diff_redacts_credentials_in_changed_options() {
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &TEMPLATE.replace(
            "inline = port = ${buildout:port}",
            "inline = upstream = https://alice:s3cret@example.invalid:${buildout:port}/",
        ),
    );
    ctx.ok(&["install"]);
    ctx.ok(&["port=9090"]);
    let diff = ctx.ok(&["generations", "diff"]);
    assert!(
        !diff.contains("s3cret") && !diff.contains("alice"),
        "{diff}"
    );
    assert!(
        diff.contains("    inline: \"upstream = https://example.invalid:8080/\" -> \"upstream = https://example.invalid:9090/\""),
        "{diff}"
    );
    let json = ctx.ok(&["--json", "generations", "diff"]);
    assert!(
        !json.contains("s3cret") && !json.contains("alice"),
        "{json}"
    );
}
