"""The Python recipe host: runs zc.buildout recipes and extensions for the Rust side.

This file owns the Python half of the recipe host protocol (v1, the Rust half is
`src/recipe/host/mod.rs`): the JSON-lines channel on the two file descriptors named
by BUILDOUT_HOST_FDS="R,W", re-entrant RPC over it, the mapping of exceptions to and
from the wire, the `log` notifications, and the Buildout/Options objects recipes see.
Rust embeds it and starts `<executable> -s -S -c <this file>` once per run, in the
buildout directory, with stdin/stdout/stderr inherited (recipes print to the user).

Protocol summary (one JSON object per line, each side numbers its own requests):
  request  {"id", "method", "params"}     success {"id", "result"}
  failure  {"id", "error": {"type", "message", "traceback", "doing"}}
  notify   {"method": "log", "params": {"name", "level", "message"}}  (host -> Rust)
While either side waits for an answer it serves the other side's requests, so one
call stack spans both processes (construct(a) -> get(b,x) -> construct(b) -> ...).
  Rust -> host: hello, add_path, construct, install, uninstall, load_extensions,
                unload_extensions, shutdown.
  host -> Rust: get, set, del, keys, copy, sections, section, add_section, parse, raw,
                raw_set, raw_del, raw_add, substitute, resolve, develop, default_versions.
Error types: UserError, MissingSection, MissingOption, KeyError, TypeError,
SystemExit (host -> Rust only) and Error (anything else, with its traceback).

The Buildout and Options objects are zc.buildout's own classes, subclassed
(HostBuildout, HostOptions) and made without running their __init__: every value
lives in Rust and is fetched or written through RPC. zc.buildout.easy_install's
install/working_set/develop/build/default_versions are patched to ask Rust, and
sort_working_set to keep the distributions Rust's answers became (see
_add_resolved); the rest of zc.buildout (scripts, Download, exceptions, ...) is its
untouched code. zc.buildout
is imported only at `hello`, after sys.path has received the paths Rust gives.
Python 3.8+ syntax, stdlib only besides zc.buildout. Rust passes this whole file as
one `-c` argument, so it must stay below Linux's 128 KiB limit for a single argument.
"""

import sys

# `-c` puts the current directory (the buildout directory) first on sys.path:
# a stray json.py or logging.py there must not shadow the standard library.
if sys.path and sys.path[0] in ("", "."):
    del sys.path[0]

import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import textwrap  # noqa: E402
import threading  # noqa: E402
import traceback  # noqa: E402

from collections.abc import MutableMapping  # noqa: E402


# --------------------------------------------------------------------------
# The channel: JSON lines, re-entrant calls
# --------------------------------------------------------------------------


def _fatal(message):
    """The channel is unusable: say so on stderr and stop at once."""
    try:
        sys.stdout.flush()
        sys.stderr.write("buildout recipe host: %s\n" % message)
        sys.stderr.flush()
    finally:
        os._exit(1)


def _flush_user_output():
    """Recipes' prints reach the user before anything Rust prints next."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


class Channel(object):
    """One end of the protocol: sends messages, waits for answers, serves requests."""

    def __init__(self, read_fd, write_fd, serve):
        for fd in (read_fd, write_fd):
            os.set_inheritable(fd, False)
        self._reader = os.fdopen(read_fd, "r", encoding="utf-8", newline="\n")
        self._writer = os.fdopen(write_fd, "w", encoding="utf-8", newline="\n")
        self._serve = serve
        self._lock = threading.RLock()
        self._next_id = 0
        self.closed = False

    def _send(self, message):
        line = json.dumps(message) + "\n"
        with self._lock:
            if self.closed:
                return
            _flush_user_output()
            self._writer.write(line)
            self._writer.flush()

    def _receive(self):
        line = self._reader.readline()
        if not line:
            # Rust is gone: nobody will answer or read anything any more.
            _flush_user_output()
            os._exit(1)
        try:
            message = json.loads(line)
        except ValueError as e:
            _fatal("invalid message from buildout: %s" % e)
        if not isinstance(message, dict):
            _fatal("invalid message from buildout: %r" % line[:200])
        return message

    def notify(self, method, **params):
        self._send({"method": method, "params": params})

    def respond(self, request_id, result):
        try:
            json.dumps(result)
        except (TypeError, ValueError) as exc:
            self.fail(request_id, error_to_wire(exc))
            return
        self._send({"id": request_id, "result": result})

    def fail(self, request_id, error):
        self._send({"id": request_id, "error": error})

    def call(self, method, **params):
        """Send a request and serve Rust's requests until its answer arrives."""
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError(
                "the recipe host answers buildout state only on the main thread "
                "(%s called from thread %s)"
                % (method, threading.current_thread().name)
            )
        self._next_id += 1
        request_id = self._next_id
        self._send({"id": request_id, "method": method, "params": params})
        while True:
            message = self._receive()
            if "method" in message:
                self._serve(message)
                continue
            if message.get("id") != request_id:
                _fatal(
                    "answer for request %r while waiting for %r (%s)"
                    % (message.get("id"), request_id, method)
                )
            if "error" in message:
                raise error_from_wire(message["error"])
            return message.get("result")

    def run(self):
        """Serve Rust's requests until shutdown (the serve function exits)."""
        while True:
            message = self._receive()
            if "method" not in message:
                _fatal("unexpected answer %r with no request pending" % message.get("id"))
            self._serve(message)

    def close(self):
        with self._lock:
            self.closed = True
            self._writer.close()


# --------------------------------------------------------------------------
# Errors on the wire
# --------------------------------------------------------------------------


class RemoteError(Exception):
    """An error Rust reported with a type Python has no class for ("Error")."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


def _zc_buildout():
    """zc.buildout's modules once `hello` imported them, else None."""
    return sys.modules.get("zc.buildout.buildout")


def _user_error_classes():
    classes = []
    if _zc_buildout() is not None:
        classes.append(sys.modules["zc.buildout"].UserError)
    errors = sys.modules.get("distutils.errors")
    if errors is not None:
        # zc.buildout's main() reports DistutilsError like a UserError.
        classes.append(errors.DistutilsError)
    return tuple(classes)


def _wire_type(exc):
    bo = _zc_buildout()
    if isinstance(exc, RemoteError):
        return exc._host_remote.get("type") or "Error"
    if isinstance(exc, SystemExit):
        return "SystemExit"
    if bo is not None and isinstance(exc, bo.MissingSection):
        return "MissingSection"
    if bo is not None and isinstance(exc, bo.MissingOption):
        return "MissingOption"
    if isinstance(exc, _user_error_classes()):
        return "UserError"
    if isinstance(exc, KeyError):
        return "KeyError"
    if isinstance(exc, TypeError):
        return "TypeError"
    return "Error"


def _wire_message(exc, kind, remote):
    if isinstance(exc, RemoteError):
        return remote.get("message", "")
    if kind == "SystemExit":
        return str(exc.code)
    if kind == "MissingSection":
        return str(exc.args[0]) if exc.args else ""
    if kind == "KeyError":
        return " ".join(str(a) for a in exc.args)
    if kind == "Error":
        lines = traceback.format_exception_only(type(exc), exc)
        return "".join(lines).strip()
    return str(exc)


def _format_doing(doing):
    if isinstance(doing, str):
        return doing
    try:
        return doing[0] % tuple(doing[1:])
    except Exception:
        return repr(doing)


def doing_of(exc):
    """zc.buildout's `__doing__` locals along the traceback, outermost first."""
    doing = []
    tb = exc.__traceback__
    while tb is not None:
        d = tb.tb_frame.f_locals.get("__doing__")
        if d:
            doing.append(_format_doing(d))
        tb = tb.tb_next
    remote = getattr(exc, "_host_remote", None)
    if remote is not None:
        doing.extend(remote.get("doing") or [])
    return doing


def error_to_wire(exc):
    """The failure object for an exception escaping to a Rust request."""
    remote = getattr(exc, "_host_remote", None)
    kind = _wire_type(exc)
    trace = None
    if kind not in ("UserError", "MissingSection", "MissingOption", "SystemExit"):
        if remote is not None and remote.get("traceback"):
            trace = remote["traceback"]
        else:
            trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {
        "type": kind,
        "message": _wire_message(exc, kind, remote),
        "traceback": trace,
        "doing": doing_of(exc),
    }


def _safe_error_to_wire(exc):
    """error_to_wire, even for an exception whose str() itself raises."""
    try:
        return error_to_wire(exc)
    except Exception:
        return {"type": "Error", "message": "%s (unprintable)" % type(exc).__name__,
                "traceback": None, "doing": []}


def error_from_wire(error):
    """The Python exception for a failure answer from Rust."""
    kind = error.get("type")
    message = error.get("message", "")
    bo = _zc_buildout()
    if kind == "KeyError":
        exc = KeyError(message)
    elif kind == "TypeError":
        exc = TypeError(message)
    elif kind == "SystemExit":
        exc = SystemExit(message)
    elif bo is not None and kind == "UserError":
        exc = sys.modules["zc.buildout"].UserError(message)
    elif bo is not None and kind == "MissingSection":
        exc = bo.MissingSection(message)
    elif bo is not None and kind == "MissingOption":
        exc = bo.MissingOption(message)
    else:
        exc = RemoteError(message)
    exc._host_remote = error
    return exc


# --------------------------------------------------------------------------
# Logging: every record becomes a `log` notification
# --------------------------------------------------------------------------


class RpcLogHandler(logging.Handler):
    def __init__(self, channel):
        logging.Handler.__init__(self)
        self._channel = channel

    def emit(self, record):
        try:
            message = record.getMessage()
            if record.exc_info:
                # What a Formatter would append: the traceback logged with the record.
                message += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            self._channel.notify(
                "log", name=record.name, level=record.levelno, message=message
            )
        except Exception:
            self.handleError(record)


def setup_logging(channel, level):
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(RpcLogHandler(channel))
    root.setLevel(level)


# --------------------------------------------------------------------------
# The objects recipes see: mixins combined with zc.buildout's classes at hello
# --------------------------------------------------------------------------

HOST = None  # the Host serving this process, set by main()


def _rpc(method, **params):
    return HOST.channel.call(method, **params)


def _check_str(value):
    if not isinstance(value, str):
        raise TypeError("Option values must be strings", value)


class RawSection(MutableMapping):
    """`buildout._raw[section]`: the raw options, written through to Rust."""

    def __init__(self, section):
        self._section = section

    def _options(self):
        raw = _rpc("raw", section=self._section)
        if raw is None:
            raise KeyError(self._section)
        return raw

    def __getitem__(self, option):
        return self._options()[option]

    def __setitem__(self, option, value):
        _check_str(value)
        _rpc("raw_set", section=self._section, option=option, value=value)

    def __delitem__(self, option):
        _rpc("raw_del", section=self._section, option=option)

    def __iter__(self):
        return iter(list(self._options()))

    def __len__(self):
        return len(self._options())

    def copy(self):
        return dict(self._options())

    def __repr__(self):
        return repr(self._options())


class RawSections(MutableMapping):
    """`buildout._raw`: section name -> RawSection; `_raw[s] = {...}` adds a raw section."""

    def __getitem__(self, section):
        if _rpc("raw", section=section) is None:
            raise KeyError(section)
        return RawSection(section)

    def __setitem__(self, section, options):
        _rpc("raw_add", section=section, options=_str_options(options))

    def __delitem__(self, section):
        raise NotImplementedError("__delitem__")

    def __iter__(self):
        return iter(_rpc("sections"))

    def __len__(self):
        return len(_rpc("sections"))

    def __contains__(self, section):
        return section in _rpc("sections")

    def __repr__(self):
        return "<buildout raw sections %r>" % (_rpc("sections"),)


def _str_options(options):
    """zc.buildout stores `str(v)` for every value of a section added from a dict."""
    return dict((str(k), str(v)) for (k, v) in dict(options).items())


class HostOptionsMixin(object):
    """Options of one section, every value in Rust (zc.buildout's Options API)."""

    @property
    def _raw(self):
        return RawSection(self.name)

    def get(self, option, default=None, seen=None):
        value = _rpc("get", section=self.name, option=option)
        return default if value is None else value

    def __getitem__(self, option):
        value = self.get(option)
        if value is None:
            raise _zc_buildout().MissingOption("Missing option: %s:%s" % (self.name, option))
        return value

    def __setitem__(self, option, value):
        _check_str(value)
        _rpc("set", section=self.name, option=option, value=value)

    def __delitem__(self, option):
        _rpc("del", section=self.name, option=option)

    def __contains__(self, option):
        return self.get(option) is not None

    def keys(self):
        return list(_rpc("keys", section=self.name))

    def copy(self):
        return dict(_rpc("copy", section=self.name))

    def _sub(self, template, seen):
        return _rpc("substitute", section=self.name, text=template)

    def _dosub(self, option, value):
        self[option] = "$$".join(self._sub(s, None) for s in value.split("$$"))

    def _initialize(self):
        raise NotImplementedError("sections are initialised by buildout, not the recipe host")

    initialize = _initialize


class HostBuildoutMixin(object):
    """The buildout: sections and raw data live in Rust (zc.buildout's Buildout API)."""

    def _options(self, section):
        """The cached Options object of a section, made without asking Rust."""
        options = self._data.get(section)
        if options is None:
            options = object.__new__(self.Options)
            options.buildout = self
            options.name = section
            self._data[section] = options
        return options

    def __getitem__(self, section):
        if section not in self._data:
            _rpc("section", section=section)
        return self._options(section)

    def __setitem__(self, section, options):
        _rpc("add_section", section=section, options=_str_options(options))

    def parse(self, data):
        _rpc("parse", text=textwrap.dedent(data))

    def keys(self):
        return list(_rpc("sections"))

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())

    def __contains__(self, section):
        return section in self.keys()

    @property
    def _links(self):
        return self["buildout"].get("find-links", "").split()

    @property
    def _allow_hosts(self):
        hosts = self["buildout"].get("allow-hosts", "*").split("\n")
        return tuple(h.strip() for h in hosts if h.strip())


def make_buildout(bo, directory, offline, newest, log_level):
    """A HostBuildout (zc.buildout.buildout.Buildout subclass) without its __init__."""
    options_class = type("HostOptions", (HostOptionsMixin, bo.Options), {})
    buildout_class = type(
        "HostBuildout", (HostBuildoutMixin, bo.Buildout), {"Options": options_class}
    )
    buildout = object.__new__(buildout_class)
    buildout._raw = RawSections()
    buildout._data = {}
    buildout._parts = []
    buildout._buildout_dir = directory
    buildout.offline = offline
    buildout.newest = newest
    buildout._log_level = log_level
    buildout._logger = logging.getLogger("zc.buildout")
    buildout.show_picked_versions = False
    buildout.update_versions_file = ""
    return buildout


# --------------------------------------------------------------------------
# easy_install patches: dependency resolution belongs to Rust
# --------------------------------------------------------------------------


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _editable_source(path):
    """The directory a develop distribution's .pth names outside its store root
    (a src layout's `src/`), else None: zc.buildout's egg-link points there."""
    import zc.buildout.utils

    root = os.path.join(os.path.realpath(path), "")
    for p in zc.buildout.utils.get_pth_paths(path):
        if os.path.isdir(p) and not os.path.join(os.path.realpath(p), "").startswith(root):
            return p
    return None


class DevelopMetadataFinder(object):
    """importlib.metadata's view of a develop egg: its metadata (in the store)
    found on its source directory's sys.path entry and located there
    (zc.recipe.testrunner 4 takes --test-path from
    `importlib.metadata.distributions(path=ws.entries)`)."""

    sources = {}  # source directory -> the store root holding the metadata

    @classmethod
    def find_spec(cls, *args, **kw):
        return None

    @classmethod
    def find_distributions(cls, context=None):
        import importlib.metadata as md
        import pathlib

        context = context or md.DistributionFinder.Context()
        for entry in context.path:
            root = cls.sources.get(entry)
            if root is None:
                continue
            found = md.MetadataPathFinder.find_distributions(
                md.DistributionFinder.Context(name=context.name, path=[root]))
            for dist in found:
                located = md.PathDistribution(dist._path)
                located.locate_file = (lambda s: lambda p: pathlib.Path(s, p))(entry)
                yield located


def _add_resolved(ws, items):
    """Add each resolved distribution (an import root) to a pkg_resources.WorkingSet.

    Its project name is the one of its metadata (`zope.exceptions`, as on the eggs
    zc.buildout makes from wheels, where pkg_resources would say `zope-exceptions`
    for a .dist-info: collective.recipe.omelette finds namespaces by the dots). A
    develop dist (with a "location", its project directory) is located there, as
    zc.buildout locates a develop egg where its .egg-link points: generated scripts
    put the project on sys.path and zc.recipe.testrunner looks for tests in it;
    its metadata stays the store object's.
    """
    import pkg_resources

    for item in items:
        path = item["path"]
        location = item.get("location")
        if location:
            location = _editable_source(path) or location
            DevelopMetadataFinder.sources[location] = path
        else:
            location = path
        wanted = _canonical(item["name"])
        found = list(pkg_resources.find_distributions(path, True))
        matching = [d for d in found if _canonical(d.project_name) == wanted]
        if location not in ws.entries:
            ws.entry_keys.setdefault(location, [])
            ws.entries.append(location)
        for dist in matching or found:
            if matching:
                dist = dist.__class__(
                    location=location,
                    metadata=dist._provider,
                    project_name=pkg_resources.safe_name(item["name"]),
                    version=dist.version,
                    py_version=dist.py_version,
                    platform=dist.platform,
                    precedence=(pkg_resources.DEVELOP_DIST if location != path
                                else dist.precedence),
                )
            ws.add(dist, location, False)
    return ws


def _resolve(specs, links=None, index=None, working_set=None):
    """RPC resolve for the part being constructed/installed (`python` is left to Rust)."""
    import pkg_resources

    items = _rpc(
        "resolve",
        part=HOST.current_part(),
        requirements=[str(s) for s in specs],
        python=None,
        index=index,
        find_links=list(links) if links else None,
    )
    if working_set is None:
        working_set = pkg_resources.WorkingSet([])
    return _add_resolved(working_set, items)


def patched_install(specs, dest, links=(), index=None, executable=None, always_unzip=None,
                    path=None, working_set=None, newest=True, versions=None,
                    use_dependency_links=None, allow_hosts=("*",), include_site_packages=None,
                    allowed_eggs_from_site_packages=None, check_picked=True,
                    allow_unknown_extras=False):
    """easy_install.install: Rust resolves `specs` with its own [versions] pins and
    index settings (`versions`, `dest`, `path`, `newest`, `allow_hosts` are not sent);
    the answer becomes a WorkingSet, or is added to `working_set` when one is given."""
    return _resolve(specs, links, index, working_set)


def patched_working_set(specs, executable, path=None, include_site_packages=None,
                        allowed_eggs_from_site_packages=None):
    return _resolve(specs)


def patched_develop(setup, dest, build_ext=None, executable=None):
    return _rpc("develop", setup=str(setup))["path"]


def patched_build(spec, dest, build_ext, *args, **kw):
    raise sys.modules["zc.buildout"].UserError(
        "zc.buildout.easy_install.build (%s) is not supported by the recipe host" % (spec,)
    )


def patched_sort_working_set(ws, eggs_dir, develop_eggs_dir):
    """easy_install.sort_working_set: develop dists first, then the others in order.

    zc.buildout's rebuilds the working set from the dists' locations, which would
    lose what _add_resolved made of them (metadata names; a develop dist located
    in its project, whose metadata is in the store); there are no .egg-link files
    nor an eggs directory to sort by here.
    """
    import pkg_resources

    dists = list(ws)
    develop = [d for d in dists if d.precedence == pkg_resources.DEVELOP_DIST]
    others = [d for d in dists if d.precedence != pkg_resources.DEVELOP_DIST]
    out = pkg_resources.WorkingSet([])
    for dist in develop + others:
        if dist.location not in out.entries:
            out.entry_keys.setdefault(dist.location, [])
            out.entries.append(dist.location)
        out.add(dist, dist.location, False)
    return out


def patch_download(download):
    """zc.buildout's `Download`, as recipes use it: each HTTP(S) file it
    returns (fetched or from the download cache) is reported to buildout
    with its sha256 and size, for the lock file; buildout refuses one whose
    content is not the one a lock in use records (a UserError)."""
    import hashlib

    original = download.Download.__call__

    def __call__(self, url, md5sum=None, path=None):
        result = original(self, url, md5sum, path)
        if url.startswith(("http://", "https://")) and os.path.isfile(result[0]):
            digest = hashlib.sha256()
            size = 0
            with open(result[0], "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
                    size += len(chunk)
            _rpc("download", url=url, size=size, sha256=digest.hexdigest())
        return result

    download.Download.__call__ = __call__


def patch_easy_install(ei):
    original_default_versions = ei.default_versions

    def default_versions(versions=None):
        if versions is not None:
            versions = dict(versions)
            _rpc("default_versions", versions=_str_options(versions))
        return original_default_versions(versions)

    ei.install = patched_install
    ei.working_set = patched_working_set
    ei.develop = patched_develop
    ei.build = patched_build
    ei.default_versions = default_versions
    ei.sort_working_set = patched_sort_working_set


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------


def _find_dist(name):
    import pkg_resources

    wanted = _canonical(name)
    for dist in pkg_resources.working_set:
        if _canonical(dist.project_name) == wanted:
            return dist
    return None


def load_recipe(dist_name, group, entry):
    dist = _find_dist(dist_name)
    if dist is None:
        raise sys.modules["zc.buildout"].UserError(
            "the recipe host cannot find distribution %s (entry point %s in group %s)"
            % (dist_name, entry, group)
        )
    ep = dist.get_entry_info(group, entry)
    if ep is None:
        raise sys.modules["zc.buildout"].UserError(
            "distribution %s has no entry point %s in group %s" % (dist_name, entry, group)
        )
    return ep.load()


def _dist_name(dist):
    """The Name in a distribution's metadata (pkg_resources' project_name mangles it)."""
    import email.parser

    for name in ("METADATA", "PKG-INFO"):
        try:
            if dist.has_metadata(name):
                parsed = email.parser.Parser().parsestr(dist.get_metadata(name), headersonly=True)
                if parsed.get("Name"):
                    return parsed["Name"]
        except Exception:
            pass
    return dist.project_name


def _patch_targets():
    ei = sys.modules["zc.buildout.easy_install"]
    bo = _zc_buildout()
    return (
        ei.Installer.__dict__.get("_get_dist"),
        logging.shutdown,
        ei.Installer.__dict__.get("install"),
        bo.Buildout.__dict__.get("install"),
        bo.Buildout.__dict__.get("_load_extensions"),
    )


def _patched_since(before):
    return any(a is not b for (a, b) in zip(before, _patch_targets()))


# --------------------------------------------------------------------------
# The host: Rust's methods
# --------------------------------------------------------------------------


# One list per constructor being run (they nest): the files it opened for
# reading, as the `open` audit event reports them.
_OPENED = []
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _audit(event, args):
    if event != "open" or not _OPENED:
        return
    path, mode, flags = (tuple(args) + (None, None, None))[:3]
    if not isinstance(path, (str, bytes)):
        return
    if isinstance(mode, str):
        if any(c in mode for c in "wax+"):
            return
    elif isinstance(flags, int) and flags & _WRITE_FLAGS:
        return
    path = os.path.abspath(os.fsdecode(path))
    for files in _OPENED:
        if path not in files:
            files.append(path)


# One dict per constructor being run: the environment variables it read
# (name -> value, None when unset); the key _ALL when it read them all.
_ENV_READ = []
_ALL = "\0all"


def _note_env(key, value):
    for reads in _ENV_READ:
        reads.setdefault(key if isinstance(key, str) else _ALL, value)


def _watch_environ():
    """Records the reads of os.environ (os.getenv, .get, [], in, iteration)."""
    cls = type(os.environ)
    getitem, iterate = cls.__getitem__, cls.__iter__

    def __getitem__(self, key):
        try:
            value = getitem(self, key)
        except KeyError:
            if _ENV_READ and self is os.environ:
                _note_env(key, None)
            raise
        if _ENV_READ and self is os.environ:
            _note_env(key, value)
        return value

    def __iter__(self):
        if _ENV_READ and self is os.environ:
            _note_env(None, None)
        return iterate(self)

    cls.__getitem__ = __getitem__
    cls.__iter__ = __iter__


def _with_pth_paths(entries):
    """Each entry followed by the path lines of its .pth files (a develop
    distribution's object points at its project's sources that way), as
    zc.buildout reads them: `import` lines are skipped."""
    out = []
    for entry in entries:
        out.append(entry)
        try:
            names = sorted(n for n in os.listdir(entry) if n.endswith(".pth"))
        except OSError:
            continue
        for name in names:
            try:
                with open(os.path.join(entry, name)) as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            for line in lines:
                line = line.strip()
                if not line or line.startswith(("#", "import ", "import\t")):
                    continue
                path = os.path.normpath(os.path.join(entry, line))
                if path not in out and os.path.isdir(path):
                    out.append(path)
    return out


class Host(object):
    def __init__(self, read_fd, write_fd):
        self.channel = Channel(read_fd, write_fd, self.serve)
        self.buildout = None
        self.recipes = {}
        self._parts = []

    def current_part(self):
        return self._parts[-1] if self._parts else None

    def serve(self, message):
        request_id = message.get("id")
        method = message.get("method")
        handler = getattr(self, "rpc_" + str(method), None)
        if handler is None:
            self.channel.fail(request_id, {"type": "Error", "message": "unknown method %s" % method,
                                           "traceback": None, "doing": []})
            return
        try:
            result = handler(**(message.get("params") or {}))
        except BaseException as exc:
            self.channel.fail(request_id, _safe_error_to_wire(exc))
            return
        self.channel.respond(request_id, result)
        if method == "shutdown":
            self.channel.close()
            sys.exit(0)

    def _with_part(self, part, f, *args):
        self._parts.append(part)
        try:
            return f(*args)
        finally:
            self._parts.pop()

    def rpc_hello(self, argv, path, directory, log_level, buildout):
        path = _with_pth_paths(path)
        sys.path[:] = list(path) + [p for p in sys.path if p not in path]
        sys.argv = list(argv)
        os.chdir(directory)
        setup_logging(self.channel, log_level)
        sys.addaudithook(_audit)
        _watch_environ()
        sys.meta_path.insert(0, DevelopMetadataFinder)
        import zc.buildout
        import zc.buildout.buildout
        import zc.buildout.easy_install

        try:
            import zc.recipe.egg  # noqa: F401  (recipes subclass it; load it early)
        except ImportError:
            pass
        patch_easy_install(zc.buildout.easy_install)
        import zc.buildout.download

        patch_download(zc.buildout.download)
        self.buildout = make_buildout(
            zc.buildout.buildout, directory, bool(buildout.get("offline")),
            bool(buildout.get("newest")), log_level,
        )
        return {
            "python": sys.executable,
            "version": "%d.%d.%d" % tuple(sys.version_info[:3]),
            "zc.buildout": _zc_buildout_version(),
        }

    def rpc_add_path(self, path):
        new = [p for p in _with_pth_paths(path) if p not in sys.path]
        sys.path.extend(new)
        pkg_resources = sys.modules.get("pkg_resources")
        if pkg_resources is not None:
            for entry in new:
                pkg_resources.working_set.add_entry(entry)
        return None

    def rpc_construct(self, part, dist, entry):
        # What the constructor depends on besides options: the files it
        # opened for reading, the environment variables it read, and
        # whether it changed os.environ (Rust memoises constructors on them).
        environ = dict(os.environ)
        _OPENED.append([])
        _ENV_READ.append({})
        try:
            recipe_class = load_recipe(dist, "zc.buildout", entry)
            options = self.buildout._options(part)
            recipe = self._with_part(part, recipe_class, self.buildout, part, options)
        finally:
            files = _OPENED.pop()
            env = _ENV_READ.pop()
        options.recipe = recipe
        self.recipes[part] = recipe
        if part not in self.buildout._parts:
            self.buildout._parts.append(part)
        return {
            "files": files,
            "env": None if _ALL in env else env,
            "environ": dict(os.environ) != environ,
        }

    def rpc_install(self, part, update):
        recipe = self.recipes.get(part)
        if recipe is None:
            raise RuntimeError("part %s has no constructed recipe in the host" % part)
        options = self.buildout._options(part)
        method = recipe.install
        if update:
            method = getattr(recipe, "update", None)
            if method is None:
                self.buildout._logger.warning(
                    "The recipe for %s doesn't define an update method. "
                    "Using its install method.", part)
                method = recipe.install
        paths = self._with_part(part, options._call, method)
        return {"paths": self._installed_paths(part, paths, update)}

    def _installed_paths(self, part, paths, update):
        if paths is None:
            if not update:
                self.buildout._logger.warning(
                    "The %s install returned None.  A path or "
                    "iterable os paths should be returned.", part)
            return None
        if isinstance(paths, str):
            return [paths]
        return [_path_str(p) for p in paths]

    def rpc_uninstall(self, part, dist, entry, options):
        pkg_resources = sys.modules["pkg_resources"]
        found = _find_dist(dist)
        if found is None:
            return {"called": False}
        ep = found.get_entry_info("zc.buildout.uninstall", entry)
        if ep is None:
            return {"called": False}
        try:
            uninstaller = ep.load()
        except (ImportError, pkg_resources.DistributionNotFound):
            return {"called": False}
        # zc.buildout's line before it calls an uninstall entry point.
        self.buildout._logger.info("Running uninstall recipe.")
        self._with_part(part, uninstaller, part, dict(options))
        return {"called": True}

    def rpc_load_extensions(self):
        import pkg_resources

        loaded, patched = [], []
        for ep in pkg_resources.iter_entry_points("zc.buildout.extension"):
            before = _patch_targets()
            ep.load()(self.buildout)
            name = _dist_name(ep.dist) if ep.dist is not None else ep.name
            _append_new(loaded, name)
            if _patched_since(before):
                _append_new(patched, name)
        return {"loaded": loaded, "patched": patched}

    def rpc_unload_extensions(self):
        import pkg_resources

        for ep in pkg_resources.iter_entry_points("zc.buildout.unloadextension"):
            ep.load()(self.buildout)
        return None

    def rpc_shutdown(self):
        return None


def _append_new(names, name):
    if name not in names:
        names.append(name)


def _path_str(path):
    return os.fspath(path) if isinstance(path, (str, os.PathLike)) else str(path)


def _zc_buildout_version():
    import pkg_resources

    dist = pkg_resources.working_set.find(pkg_resources.Requirement.parse("zc.buildout"))
    return dist.version if dist is not None else "unknown"


def main():
    global HOST
    try:
        # Recipes' child processes have no business with the channel.
        fds = os.environ.pop("BUILDOUT_HOST_FDS")
        read_fd, write_fd = (int(x) for x in fds.split(","))
    except (KeyError, ValueError):
        sys.stderr.write("buildout recipe host: BUILDOUT_HOST_FDS must be set to R,W\n")
        sys.exit(2)
    HOST = Host(read_fd, write_fd)
    HOST.channel.run()


if __name__ == "__main__":
    main()
