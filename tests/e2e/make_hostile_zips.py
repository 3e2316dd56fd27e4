#!/usr/bin/env python3
"""Generates the hostile .zip corpus and the positive corpus for the zip core.

    make_hostile_zips.py OUTDIR      writes OUTDIR/hostile/*.zip, OUTDIR/positive/*.zip
                                     and prints one line per archive:
                                     <file> <stage> <reason> [LIMIT-FLAGS...]

Each hostile archive has exactly one flaw and the reason the importer must
give for it (the codes of src/core/zip_inspect.h). `stage` says where the
refusal happens: "inspect" (phase 1, nothing written) or "extract" (only the
bytes tell: lying sizes, bad CRC). Archives are built with Python's zipfile
and byte-patched where zipfile cannot write the flaw (raw names, header
flags, sizes, CRCs) or hand-assembled (overlap bombs). Used as a module by
tests/e2e/test_zip_core.py (build_hostile, build_positive).
"""
import io
import os
import shutil
import stat
import struct
import subprocess
import sys
import zipfile
import zlib

DATE = (2024, 1, 2, 3, 4, 6)
TOP = "tool"
MiB = 1 << 20


class Case:
    """One corpus archive and what the importer must say about it."""

    def __init__(self, name, stage, reason, limits=None, note=""):
        self.name = name
        self.stage = stage      # "inspect", "extract" or "ok"
        self.reason = reason    # expected reason code ("ok" for positive archives)
        self.limits = limits or []
        self.note = note
        self.path = None


def info(name, mode=None, method=zipfile.ZIP_DEFLATED):
    """A ZipInfo with a fixed date; mode sets a Unix st_mode (opsys Unix)."""
    zi = zipfile.ZipInfo(name, DATE)
    zi.compress_type = method
    if mode is not None:
        zi.create_system = 3
        zi.external_attr = (mode & 0xFFFF) << 16
        if stat.S_ISDIR(mode):
            zi.external_attr |= 0x10
    return zi


def write_zip(path, entries):
    """entries: (name, data) or (ZipInfo, data) pairs, written in order."""
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries:
            zi = name if isinstance(name, zipfile.ZipInfo) else info(name)
            if zi.filename.endswith("/") and not data:
                zi.compress_type = zipfile.ZIP_STORED
            z.writestr(zi, data)


# --- byte patching ----------------------------------------------------------

def central_entries(data):
    """Offsets of the central-directory headers of a (non-zip64) archive."""
    eocd = data.rfind(b"PK\x05\x06")
    count, _size, off = struct.unpack_from("<HII", data, eocd + 10)
    out = []
    for _ in range(count):
        out.append(off)
        nlen, elen, clen = struct.unpack_from("<HHH", data, off + 28)
        off += 46 + nlen + elen + clen
    return out


def patch_entry(data, index, flags_or=0, flags_and=0xFFFF, method=None, crc=None,
                usize=None, csize=None):
    """Patches entry `index` in both its central and local header."""
    data = bytearray(data)
    c = central_entries(bytes(data))[index]
    local = struct.unpack_from("<I", data, c + 42)[0]
    for hdr, flag_at, meth_at, crc_at in ((c, 8, 10, 16), (local, 6, 8, 14)):
        f = struct.unpack_from("<H", data, hdr + flag_at)[0]
        struct.pack_into("<H", data, hdr + flag_at, (f | flags_or) & flags_and)
        if method is not None:
            struct.pack_into("<H", data, hdr + meth_at, method)
        if crc is not None:
            struct.pack_into("<I", data, hdr + crc_at, crc)
        if csize is not None:
            struct.pack_into("<I", data, hdr + crc_at + 4, csize)
        if usize is not None:
            struct.pack_into("<I", data, hdr + crc_at + 8, usize)
    return bytes(data)


def patch_bytes(path, old, new):
    """Replaces every occurrence of old by new (same length) in the file."""
    assert len(old) == len(new)
    with open(path, "rb") as f:
        data = f.read()
    assert old in data
    with open(path, "wb") as f:
        f.write(data.replace(old, new))


def patch_file(path, **kw):
    with open(path, "rb") as f:
        data = f.read()
    index = kw.pop("index", 0)
    with open(path, "wb") as f:
        f.write(patch_entry(data, index, **kw))


# --- hand-assembled archives -------------------------------------------------

def local_header(name, crc, csize, usize, method=8):
    n = name.encode()
    return struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0x5821,
                       crc, csize, usize, len(n), 0) + n


def central_header(name, crc, csize, usize, offset, method=8, mode=0o100644):
    n = name.encode()
    return struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", (3 << 8) | 20, 20, 0, method,
                       0, 0x5821, crc, csize, usize, len(n), 0, 0, 0, 0, mode << 16,
                       offset) + n


def eocd(count, cd_size, cd_offset):
    return struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, 0)


def raw_deflate(data):
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    return co.compress(data) + co.flush()


def full_overlap_bomb(path, entries=100, kernel=10 * MiB):
    """Many central entries pointing at one local header (zbsm-style, not
    quoted): the central names differ from the local one."""
    raw = bytes(kernel)
    comp = raw_deflate(raw)
    crc = zlib.crc32(raw)
    body = local_header(TOP + "/a.bin", crc, len(comp), len(raw)) + comp
    cd = b"".join(central_header("%s/f%04d" % (TOP, i), crc, len(comp), len(raw), 0)
                  for i in range(entries))
    with open(path, "wb") as f:
        f.write(body + cd + eocd(entries, len(cd), len(body)))


def quoted_overlap_bomb(path, files=50, kernel=10 * MiB):
    """Fifield's quoted-overlap bomb: every file's DEFLATE stream quotes the
    next file's local header in a stored block, then runs into it, so all
    files share one kernel while every local header matches its central
    entry (passes name-consistency checks)."""
    kernel_raw = bytes(kernel)
    kernel_comp = raw_deflate(kernel_raw)
    names = ["%s/f%03d" % (TOP, i) for i in range(files)]
    # Built backwards: data[i] = quote(LH[i+1]) + LH[i+1] + data[i+1].
    data, plain = kernel_comp, kernel_raw
    crc = zlib.crc32(plain)
    headers = [None] * files
    sizes = [None] * files
    headers[-1] = local_header(names[-1], crc, len(data), len(plain))
    sizes[-1] = (crc, len(data), len(plain))
    datas = [None] * files
    datas[-1] = data
    for i in range(files - 2, -1, -1):
        nxt = headers[i + 1]
        quote = struct.pack("<BHH", 0, len(nxt), len(nxt) ^ 0xFFFF)
        data = quote + nxt + data
        plain = nxt + plain
        crc = zlib.crc32(plain)
        headers[i] = local_header(names[i], crc, len(data), len(plain))
        sizes[i] = (crc, len(data), len(plain))
        datas[i] = data
    body = headers[0] + datas[0]
    offsets, off = [], 0
    for i in range(files):
        offsets.append(off)
        off += len(headers[i]) + 5
    cd = b"".join(central_header(names[i], sizes[i][0], sizes[i][1], sizes[i][2], offsets[i])
                  for i in range(files))
    with open(path, "wb") as f:
        f.write(body + cd + eocd(files, len(cd), len(body)))


# --- the hostile corpus ---------------------------------------------------------

def t(name):
    return TOP + "/" + name


def simple(names_data):
    return lambda p: write_zip(p, names_data)


def hostile_cases():
    """(Case, builder(path)) pairs."""
    ok = (t("ok.txt"), b"fine\n")
    C = Case
    cases = [
        # names
        (C("traversal", "inspect", "name_traversal"), simple([ok, (t("../../evil.txt"), b"x")])),
        (C("traversal_leading", "inspect", "name_traversal"), simple([(("../evil.txt"), b"x")])),
        (C("traversal_dotenv", "inspect", "name_traversal"), simple([ok, (t("sub/../.env"), b"x")])),
        (C("absolute", "inspect", "name_absolute"), simple([("/" + t("abs.txt"), b"x")])),
        (C("backslash", "inspect", "name_backslash"), simple([ok, (t("a\\..\\..\\win.txt"), b"x")])),
        (C("drive_letter", "inspect", "name_colon"), simple([("C:/" + t("x.txt"), b"x")])),
        (C("dot_component", "inspect", "name_component"), simple([ok, (t("./.env"), b"x")])),
        (C("empty_component", "inspect", "name_component"), simple([ok, (t("a//b.txt"), b"x")])),
        (C("control_char", "inspect", "name_control"), simple([ok, (t("a\x1b[31m.txt"), b"x")])),
        (C("long_component", "inspect", "name_too_long"), simple([ok, (t("a" * 256), b"x")])),
        (C("long_name", "inspect", "name_too_long"),
         simple([ok, (t("/".join(["b" * 250] * 5)), b"x")])),
        (C("too_deep", "inspect", "name_too_deep"), simple([ok, (t("d/" * 32 + "f"), b"x")])),
        (C("invalid_utf8_unflagged", "inspect", "name_encoding"), invalid_utf8_unflagged),
        (C("invalid_utf8_flagged", "inspect", "inconsistent",
           note="libzip 1.7.3 refuses a bit-11 name that is not UTF-8 at open"),
         invalid_utf8_flagged),
        (C("overlong_utf8_flagged", "inspect", "name_encoding"), overlong_utf8_flagged),
        (C("cp437_unflagged", "inspect", "name_encoding"), cp437_unflagged),
        (C("unicode_path_field_traversal", "inspect", "name_traversal",
           note="libzip (like unzip) prefers the Info-ZIP Unicode path field to the raw name"),
         unicode_path_field),
        # secrets and tool-private folders
        (C("dotenv_top", "inspect", "dotenv"), simple([ok, (t(".env"), b"K=v\n")])),
        (C("dotenv_nested", "inspect", "dotenv"), simple([ok, (t("sub/deep/.env"), b"K=v\n")])),
        (C("dotenv_upper", "inspect", "dotenv"), simple([ok, (t(".ENV"), b"K=v\n")])),
        (C("dotenv_local", "inspect", "dotenv"), simple([ok, (t(".env.local"), b"K=v\n")])),
        (C("dotenv_mixed_case_suffix", "inspect", "dotenv"),
         simple([ok, (t(".Env.Production"), b"K=v\n")])),
        (C("dotenv_trailing_space", "inspect", "dotenv"), simple([ok, (t(".env "), b"K=v\n")])),
        (C("dotenv_ignorable", "inspect", "dotenv"), simple([ok, (t(".en\u200cv"), b"K=v\n")])),
        (C("dotenv_short_name", "inspect", "dotenv"), simple([ok, (t("ENV~1"), b"K=v\n")])),
        (C("git_config", "inspect", "git"), simple([ok, (t(".git/config"), b"[core]\n")])),
        (C("git_upper_hooks", "inspect", "git"), simple([ok, (t(".GIT/hooks/post-checkout"), b"x")])),
        (C("git_short_name", "inspect", "git"), simple([ok, (t("git~1/config"), b"x")])),
        (C("git_trailing_dot", "inspect", "git"), simple([ok, (t(".git./config"), b"x")])),
        (C("git_ignorable", "inspect", "git"), simple([ok, (t(".g\u200cit/config"), b"x")])),
        (C("venv", "inspect", "venv"), simple([ok, (t(".venv/bin/python"), b"x")])),
        (C("venv_nested_upper", "inspect", "venv"), simple([ok, (t("sub/.VENV/x"), b"x")])),
        # file types and modes
        (C("symlink", "inspect", "symlink"),
         simple([ok, (info(t("link"), 0o120777), b"/home/user/.ssh")])),
        (C("symlink_write_through", "inspect", "symlink"),
         simple([(info(t("link"), 0o120777), b"/home/user/.ssh"),
                 (t("link/authorized_keys"), b"ssh-ed25519 AAAA\n")])),
        (C("fifo", "inspect", "special_file"), simple([ok, (info(t("fifo"), 0o010644), b"")])),
        (C("char_device", "inspect", "special_file"), simple([ok, (info(t("tty"), 0o020644), b"")])),
        (C("block_device", "inspect", "special_file"), simple([ok, (info(t("sda"), 0o060644), b"")])),
        (C("socket", "inspect", "special_file"), simple([ok, (info(t("sock"), 0o140644), b"")])),
        (C("setuid", "inspect", "setid_mode"), simple([ok, (info(t("su"), 0o104755), b"#!/bin/sh\n")])),
        (C("setgid_dir", "inspect", "setid_mode"), simple([ok, (info(t("d/"), 0o042755), b"")])),
        (C("dir_mode_on_file", "inspect", "bad_entry"), simple([ok, (info(t("x"), 0o040755), b"")])),
        (C("dir_with_data", "inspect", "bad_entry"), dir_with_data),
        # duplicates and collisions
        (C("duplicate", "inspect", "duplicate"),
         simple([(t("dup.txt"), b"first"), (t("dup.txt"), b"second")])),
        (C("case_collision", "inspect", "duplicate"), simple([(t("a.txt"), b"1"), (t("A.txt"), b"2")])),
        (C("case_collision_dirs", "inspect", "duplicate"),
         simple([(t("Sub/a.txt"), b"1"), (t("sub/b.txt"), b"2")])),
        (C("latin1_case_collision", "inspect", "duplicate"),
         simple([(t("caf\u00e9.txt"), b"1"), (t("CAF\u00c9.txt"), b"2")])),
        (C("ignorable_collision", "inspect", "duplicate"),
         simple([(t("ab.txt"), b"1"), (t("a\u200bb.txt"), b"2")])),
        (C("trailing_dot_collision", "inspect", "duplicate"),
         simple([(t("a.txt"), b"1"), (t("a.txt."), b"2")])),
        (C("file_and_dir_same_name", "inspect", "duplicate"),
         simple([(t("x"), b"1"), (t("x/"), b"")])),
        (C("file_used_as_folder", "inspect", "conflict"), simple([(t("x"), b"1"), (t("x/y"), b"2")])),
        # encryption and methods
        (C("encrypted", "inspect", "encrypted"), encrypted),
        (C("bzip2", "inspect", "method"),
         simple([ok, (info(t("b.txt"), method=zipfile.ZIP_BZIP2), b"x" * 100)])),
        (C("lzma", "inspect", "method"),
         simple([ok, (info(t("l.txt"), method=zipfile.ZIP_LZMA), b"x" * 100)])),
        # sizes and bombs
        (C("too_many_entries", "inspect", "too_many_entries"), too_many_entries),
        (C("claimed_entries", "inspect", "too_many_entries",
           note="refused before libzip builds its (floodable) name table"), claimed_entries),
        (C("claimed_entries_zip64", "inspect", "too_many_entries"), claimed_entries_zip64),
        (C("file_too_big", "inspect", "file_too_big"), file_too_big),
        (C("ratio_bomb", "inspect", "ratio"), ratio_bomb),
        (C("quoted_overlap_bomb", "inspect", "total_too_big"), quoted_overlap_bomb),
        (C("full_overlap_bomb", "inspect", "inconsistent"), full_overlap_bomb),
        (C("archive_too_big", "inspect", "archive_too_big", ["--max-archive", "100"]),
         simple([(t("x.txt"), os.urandom(200))])),
        (C("lying_size_small", "extract", "size_mismatch"), lying_size_small),
        (C("lying_size_large", "extract", "size_mismatch"), lying_size_large),
        (C("lying_size_bomb", "extract", "size_mismatch",
           note="must stop at the declared size: 100 MiB would pass RLIMIT_FSIZE"),
         lying_size_bomb),
        (C("bad_crc", "extract", "crc"), bad_crc),
        # structure
        (C("two_top_folders", "inspect", "top_folder"), simple([(t("x"), b"1"), ("other/y", b"2")])),
        (C("file_at_top", "inspect", "top_folder"), simple([("README", b"1"), (t("x"), b"2")])),
        (C("empty_archive", "inspect", "empty"), simple([])),
        (C("not_a_zip", "inspect", "bad_archive"), not_a_zip),
        (C("truncated", "inspect", "bad_archive"), truncated),
    ]
    return cases


def invalid_utf8_unflagged(p):
    write_zip(p, [(t("ok.txt"), b"1"), (t("QQ.txt"), b"2")])
    patch_bytes(p, b"tool/QQ.txt", b"tool/\xff\xfe.txt")


def invalid_utf8_flagged(p):
    write_zip(p, [(t("\u00e9XX.txt"), b"2")])  # non-ASCII: zipfile sets bit 11
    patch_bytes(p, "tool/\u00e9XX.txt".encode(), b"tool/\xff\xfeXX.txt")


def overlong_utf8_flagged(p):
    write_zip(p, [(t("a\u00e9.txt"), b"2")])
    patch_bytes(p, "tool/a\u00e9.txt".encode(), b"tool/a\xc0\xae.txt")  # overlong '.'


def cp437_unflagged(p):
    write_zip(p, [(t("\u00e9.txt"), b"2")])
    patch_file(p, index=0, flags_and=0xFFFF & ~0x800)


def unicode_path_field(p):
    """Raw name harmless, Info-ZIP Unicode path extra field (0x7075,
    version 1, CRC of the raw name) says tool/../evil.txt."""
    raw = t("okay.txt").encode()
    upath = t("../evil.txt").encode()
    field = struct.pack("<BI", 1, zlib.crc32(raw)) + upath
    zi = info(t("okay.txt"))
    zi.extra = struct.pack("<HH", 0x7075, len(field)) + field
    write_zip(p, [(t("ok.txt"), b"fine\n"), (zi, b"x")])


def dir_with_data(p):
    write_zip(p, [(t("dQ"), b"abc")])
    patch_bytes(p, b"tool/dQ", b"tool/d/")


def encrypted(p):
    write_zip(p, [(t("secret.txt"), b"x" * 50)])
    patch_file(p, index=0, flags_or=0x1)


def too_many_entries(p):
    with zipfile.ZipFile(p, "w") as z:
        for i in range(10001):
            z.writestr(info(t("f%05d" % i), method=zipfile.ZIP_STORED), b"")


def claimed_entries(p):
    """One real entry; the end record claims 60,000."""
    write_zip(p, [(t("a.txt"), b"a")])
    with open(p, "rb") as f:
        data = bytearray(f.read())
    e = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, e + 8, 60000, 60000)
    with open(p, "wb") as f:
        f.write(data)


def claimed_entries_zip64(p):
    """One real entry; a Zip64 end record (found through its locator)
    claims 1,000,000."""
    write_zip(p, [(t("a.txt"), b"a")])
    with open(p, "rb") as f:
        data = f.read()
    e = data.rfind(b"PK\x05\x06")
    _, _, _, _, cd_size, cd_off, _ = struct.unpack_from("<HHHHIIH", data, e + 4)
    z64 = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 10 ** 6, 10 ** 6,
                      cd_size, cd_off)
    loc = struct.pack("<4sIQI", b"PK\x06\x07", 0, e, 1)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, cd_size, cd_off, 0)
    with open(p, "wb") as f:
        f.write(data[:e] + z64 + loc + end)


def file_too_big(p):
    with zipfile.ZipFile(p, "w") as z:
        with z.open(info(t("big.bin")), "w") as f:
            chunk = bytes(MiB)
            for _ in range(65):
                f.write(chunk)


def ratio_bomb(p):
    write_zip(p, [(t("zeros.bin"), bytes(10 * MiB))])


def lying_size_small(p):
    """Declares 10 bytes; the DEFLATE stream holds 100,000 (CRC of the real data)."""
    write_zip(p, [(t("lie.txt"), b"A" * 100000)])
    patch_file(p, index=0, usize=10)


def lying_size_large(p):
    """Declares 100,000 bytes; the stream holds 10."""
    write_zip(p, [(t("lie.txt"), b"0123456789")])
    patch_file(p, index=0, usize=100000)


def lying_size_bomb(p):
    """Declares 1,000 bytes; the stream holds 100 MiB of zeros."""
    with zipfile.ZipFile(p, "w") as z:
        with z.open(info(t("bomb.bin")), "w") as f:
            chunk = bytes(MiB)
            for _ in range(100):
                f.write(chunk)
    patch_file(p, index=0, usize=1000)


def bad_crc(p):
    write_zip(p, [(t("c.txt"), b"hello world\n" * 10)])
    patch_file(p, index=0, crc=0x12345678)


def not_a_zip(p):
    with open(p, "wb") as f:
        f.write(b"this is not a zip archive at all\n" * 20)


def truncated(p):
    write_zip(p, [(t("a.txt"), b"A" * 5000), (t("b.txt"), b"B" * 5000)])
    with open(p, "rb") as f:
        data = f.read()
    with open(p, "wb") as f:
        f.write(data[: len(data) // 2])


def build_hostile(outdir):
    """Writes the hostile corpus into outdir; returns the Cases (path set)."""
    os.makedirs(outdir, exist_ok=True)
    out = []
    for case, builder in hostile_cases():
        case.path = os.path.join(outdir, case.name + ".zip")
        builder(case.path)
        out.append(case)
    return out


# --- the positive corpus -------------------------------------------------------

def make_tree(root):
    """A small tool tree with nested, empty and executable entries and a
    non-ASCII name. Returns root."""
    files = {
        "tool.json": b'{"id": "tool", "schema_version": 1}\n',
        "main.py": b"print('hello')\n",
        "run.sh": b"#!/bin/sh\nexec python3 main.py\n",
        "lib/util.py": b"def f():\n    return 1\n" * 50,
        "lib/deep/er/x.txt": bytes(range(256)) * 40,
        "docs/caf\u00e9.md": "d\u00e9j\u00e0 vu\n".encode(),
    }
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o755 if rel.endswith(".sh") else 0o644)
    os.makedirs(os.path.join(root, "empty"), exist_ok=True)
    return root


def build_positive(outdir, tree_parent):
    """Archives of the tree tree_parent/tool made by other tools. Returns
    Cases; the ones whose names are ASCII-only note it (zip -r writes UTF-8
    names without the UTF-8 flag, which the importer refuses by design)."""
    os.makedirs(outdir, exist_ok=True)
    src = os.path.join(tree_parent, TOP)
    out = []

    def case(name, builder, stage="ok", reason="ok", note=""):
        c = Case(name, stage, reason, note=note)
        c.path = os.path.join(outdir, name + ".zip")
        builder(c.path)
        out.append(c)

    def zip_r(p, extra=()):
        subprocess.run(["zip", "-q", "-r", *extra, os.path.abspath(p), TOP, "-x", "*caf*"],
                       cwd=tree_parent, check=True)

    def pyzip(p, dirs=True, method=zipfile.ZIP_DEFLATED):
        with zipfile.ZipFile(p, "w", method) as z:
            for dirpath, dirnames, filenames in os.walk(src):
                dirnames.sort()
                rel = os.path.relpath(dirpath, tree_parent)
                if dirs:
                    z.write(dirpath, rel + "/")
                for fn in sorted(filenames):
                    z.write(os.path.join(dirpath, fn), os.path.join(rel, fn))

    def streamed(p):
        """zipfile on a stream it cannot seek: data descriptors (bit 3)."""
        class Unseekable(io.RawIOBase):
            def __init__(self, f):
                self.f = f

            def writable(self):
                return True

            def write(self, b):
                return self.f.write(b)

        with open(p, "wb") as raw:
            pyzip_to(Unseekable(raw))

    def pyzip_to(target):
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
            for dirpath, dirnames, filenames in os.walk(src):
                dirnames.sort()
                rel = os.path.relpath(dirpath, tree_parent)
                for fn in sorted(filenames):
                    with open(os.path.join(dirpath, fn), "rb") as f:
                        z.writestr(info(os.path.join(rel, fn), os.stat(
                            os.path.join(dirpath, fn)).st_mode), f.read())

    def zip_r_piped(p):
        out = subprocess.run(["zip", "-q", "-r", "-", TOP, "-x", "*caf*"], cwd=tree_parent,
                             check=True, stdout=subprocess.PIPE).stdout
        with open(p, "wb") as f:
            f.write(out)

    def make_archive(p):
        base = p[:-4]
        shutil.make_archive(base, "zip", root_dir=tree_parent, base_dir=TOP)

    case("zip_r", zip_r, note="ASCII names only")
    case("zip_r_stored", lambda p: zip_r(p, ["-0"]), note="ASCII names only")
    case("zip_r_no_dir_entries", lambda p: zip_r(p, ["-D"]), note="ASCII names only")
    case("python_zipfile", pyzip)
    case("python_zipfile_no_dirs", lambda p: pyzip(p, dirs=False))
    case("python_zipfile_stored", lambda p: pyzip(p, method=zipfile.ZIP_STORED))
    case("python_zipfile_streamed", streamed)
    case("shutil_make_archive", make_archive)
    case("zip_r_utf8_unflagged", lambda p: subprocess.run(
        ["zip", "-q", "-r", os.path.abspath(p), TOP], cwd=tree_parent, check=True),
        stage="inspect", reason="name_encoding",
        note="Info-ZIP zip 3.0 stores UTF-8 names without the UTF-8 flag: ambiguous, refused")
    case("zip_r_piped", zip_r_piped, stage="inspect", reason="inconsistent",
         note="a known false positive of ZIP_CHECKCONS (libzip 1.7.3): zip writing to a pipe "
              "puts the uncompressed size in local headers that use data descriptors")
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_hostile_zips.py OUTDIR")
    outdir = sys.argv[1]
    cases = build_hostile(os.path.join(outdir, "hostile"))
    tree_parent = os.path.join(outdir, "tree")
    make_tree(os.path.join(tree_parent, TOP))
    cases += build_positive(os.path.join(outdir, "positive"), tree_parent)
    for c in cases:
        print(os.path.relpath(c.path, outdir), c.stage, c.reason, *c.limits)


if __name__ == "__main__":
    main()
