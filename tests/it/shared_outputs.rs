//! Two parts that manage the same file: zc.buildout 6.0.1 installs both
//! (the later part writes the file again, no message), so the later part's
//! output wins here too — e.g. two `zc.recipe.egg` parts from one macro
//! that both generate `bin/celery` (`examples/macros-and-conditions`).

use crate::common::TestContext;
use crate::common::index::IndexServer;
use crate::common::wheel::Wheel;

#[test]
fn two_parts_with_the_same_script_install_and_the_later_wins() {
    let server = IndexServer::start();
    server
        .publish(
            Wheel::new("tool", "1.0")
                .module(
                    "tool/__init__.py",
                    "import sys\n\ndef main():\n    import extra\n    print('tool', extra.WHO)\n",
                )
                .entry_point("console_scripts", "tool", "tool:main")
                .build(),
        )
        .publish(
            Wheel::new("extra-one", "1.0")
                .module("extra.py", "WHO = 'one'\n")
                .build(),
        )
        .publish(
            Wheel::new("extra-two", "1.0")
                .module("extra.py", "WHO = 'two'\n")
                .build(),
        );
    let ctx = TestContext::new();
    ctx.write(
        "buildout.cfg",
        &format!(
            "[buildout]\nparts = w1 w2 t1 t2\nindex = {}\n\n\
             [w1]\nrecipe = zc.recipe.egg\neggs = tool\n    extra-one\n\n\
             [w2]\nrecipe = zc.recipe.egg\neggs = tool\n    extra-two\n\n\
             [t1]\nrecipe = collective.recipe.template\noutput = ${{buildout:directory}}/etc/app.conf\ninline = first\n\n\
             [t2]\nrecipe = collective.recipe.template\noutput = ${{buildout:directory}}/etc/app.conf\ninline = second\n",
            server.index_url()
        ),
    );
    let out = ctx.buildout(&[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let tool = std::process::Command::new(ctx.path("bin/tool"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&tool.stdout), "tool two\n");
    assert_eq!(
        std::fs::read_to_string(ctx.path("etc/app.conf")).unwrap(),
        "second"
    );
}
