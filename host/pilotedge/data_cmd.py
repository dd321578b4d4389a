"""`pilotedge export|plot|report DB`: a log as files, a picture and a batch report.

    pilotedge export run/pilotedge.sqlite --format csv --board sim0 --from 2026-11-01
    pilotedge plot run/pilotedge.sqlite --out batch.png
    pilotedge report run/pilotedge.sqlite --batch 3 --format html --out batch3.html
"""

from pathlib import Path

from . import history
from .errors import UsageError


def _log_arguments(parser, bounds=True):
    parser.add_argument("db", metavar="DB", help="the log (.sqlite) pilotedge log or run wrote, "
                                                 "or a site historian's postgresql:// URL")
    parser.add_argument("--board", help="only this board (its name in the log)")
    if bounds:
        parser.add_argument("--from", dest="start", metavar="TIME",
                            help="from this time: 2026-11-01, 2026-11-01T14:30 (local) or "
                                 "Unix seconds")
        parser.add_argument("--to", dest="end", metavar="TIME", help="up to this time")


def _bounds(args):
    start = history.parse_time(args.start, "--from") if args.start else None
    end = history.parse_time(args.end, "--to") if args.end else None
    if start is not None and end is not None and end < start:
        raise UsageError("--to %s is before --from %s" % (args.end, args.start))
    return start, end


class _Export:
    @staticmethod
    def add_arguments(parser):
        _log_arguments(parser)
        parser.add_argument("--format", choices=("csv", "parquet"), default="csv",
                            help="csv (default) or parquet (needs pyarrow)")
        parser.add_argument("--out", help="folder for the files (default DB name + -export)")

    @staticmethod
    def run(args):
        from . import export

        start, end = _bounds(args)
        out = Path(args.out) if args.out else Path(args.db).with_suffix("").with_name(
            Path(args.db).stem + "-export")
        with history.open_log(args.db) as log:
            written = export.write(log, out, args.format, args.board, start, end)
        for path, count in written:
            print("%s: %d rows" % (path, count))
        if not written:
            print("nothing to export in that span")
        return 0


class _Plot:
    @staticmethod
    def add_arguments(parser):
        _log_arguments(parser)
        parser.add_argument("--out", required=True, help="the PNG file to write")

    @staticmethod
    def run(args):
        from . import plot

        start, end = _bounds(args)
        _writable(args.out)
        with history.open_log(args.db) as log:
            plot.save(log, args.out, args.board, start, end)
        print("plotted %s into %s" % (args.db, args.out))
        return 0


class _Report:
    @staticmethod
    def add_arguments(parser):
        _log_arguments(parser, bounds=False)
        parser.add_argument("--batch", type=int, help="the batch number (default: the latest; "
                                                      "the whole log when none is recorded)")
        parser.add_argument("--format", choices=("text", "markdown", "html"),
                            help="default: text, or what --out's suffix says (.md, .html)")
        parser.add_argument("--out", help="write the report here (Markdown gets its plot "
                                          "beside it as a PNG; HTML carries it inside)")

    @staticmethod
    def run(args):
        fmt = args.format or _format_of(args.out)
        if args.out:
            _writable(args.out)
        with history.open_log(args.db) as log:
            if args.board:
                log.check_board(args.board)
            text = write_report(log, args.batch, fmt, args.out, args.board)
        if args.out:
            print("report written to %s" % args.out)
        else:
            print(text, end="")
        return 0


def write_report(log, batch_number, fmt, out=None, board=None):
    """Build and render a report; with out, write it there (and the plot beside a Markdown
    one). Returns the text."""
    from . import plot, report

    batch = report.pick_batch(log, batch_number, board)
    rep = report.build(log, batch, with_figure=fmt == "html", board=board)
    image = None
    if fmt == "markdown" and out:
        image = Path(out).with_suffix(".png")
        plot.save(log, image, batch["board"] if batch else board,
                  batch["started"] if batch else None, batch["ended"] if batch else None)
    text = report.render(rep, fmt, image.name if image else None)
    if out:
        Path(out).write_text(text)
    return text


def _format_of(out):
    suffix = Path(out).suffix.lower() if out else ""
    return {".md": "markdown", ".markdown": "markdown", ".html": "html",
            ".htm": "html"}.get(suffix, "text")


def _writable(path):
    folder = Path(path).absolute().parent
    if not folder.is_dir():
        raise UsageError("cannot write %s: folder %s does not exist" % (path, folder))


export = _Export()
plot = _Plot()
report = _Report()
