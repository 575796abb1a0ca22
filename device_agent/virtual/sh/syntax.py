"""The shell's syntax: tokens, words with their quoting, and the tree mksh would build.

Simple commands, pipelines and and-or lists, plus the compound commands scripts use:
if/elif/else, for, while/until, case, { ...; }, ( ... ), functions, here-documents and
$(( )) arithmetic. The parser is a single left-to-right pass over the tokens (linear in
the script's length); nesting depth is bounded so a hostile script cannot exhaust the stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_DEPTH = 64


@dataclass
class Seg:
    text: str
    quoted: bool = False
    kind: str = "lit"  # lit, var, cmd


@dataclass
class Word:
    segs: list[Seg] = field(default_factory=list)


@dataclass
class Redir:
    fd: int
    op: str  # >, >>, <, >&
    target: Word


@dataclass
class Command:
    words: list[Word] = field(default_factory=list)
    redirs: list[Redir] = field(default_factory=list)
    assigns: list[tuple[str, Word]] = field(default_factory=list)


@dataclass
class Pipeline:
    commands: list[Node]
    negate: bool = False


@dataclass
class AndOr:
    first: Pipeline
    rest: list[tuple[str, Pipeline]] = field(default_factory=list)


Item = tuple[AndOr, bool]  # an and-or list and whether it ends in `&`


@dataclass
class If:
    branches: list[tuple[list[Item], list[Item]]]  # (condition, body) for if and each elif
    orelse: list[Item] | None = None
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class For:
    var: str
    items: list[Word] | None  # None: "$@"
    body: list[Item]
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class While:
    cond: list[Item]
    body: list[Item]
    until: bool = False
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class Case:
    word: Word
    arms: list[tuple[list[Word], list[Item]]]
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class Group:
    body: list[Item]
    subshell: bool = False
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class FuncDef:
    name: str
    body: Node
    redirs: list[Redir] = field(default_factory=list)


Node = Command | If | For | While | Case | Group | FuncDef

RESERVED = frozenset(
    [
        "if",
        "then",
        "elif",
        "else",
        "fi",
        "for",
        "in",
        "do",
        "done",
        "while",
        "until",
        "case",
        "esac",
        "{",
        "}",
        "function",
        "!",
    ]
)


class ShellSyntaxError(Exception):
    pass


OPERATORS = ("&&", "||", ";;", "<<-", "<<", ">>", ">&", "<&", ";", "&", "|", ">", "<", "\n", "(", ")")
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def tokenize(src: str) -> list[Word | str]:
    """Words (with quoting kept per segment) and operator strings."""
    out: list[Word | str] = []
    i, n = 0, len(src)
    word: Word | None = None

    def lit(text: str, quoted: bool) -> None:
        nonlocal word
        if word is None:
            word = Word()
        if word.segs and word.segs[-1].kind == "lit" and word.segs[-1].quoted == quoted:
            word.segs[-1].text += text
        else:
            word.segs.append(Seg(text, quoted))

    def end_word() -> None:
        nonlocal word
        if word is not None:
            out.append(word)
            word = None

    def dollar(j: int, quoted: bool) -> int:
        """Parse a $-expansion at src[j] == '$'; returns the index after it."""
        nonlocal word
        if word is None:
            word = Word()
        if j + 1 >= n:
            lit("$", quoted)
            return j + 1
        c = src[j + 1]
        if src.startswith("((", j + 1):
            k = _matching_arith(src, j + 3)
            word.segs.append(Seg(src[j + 3 : k], quoted, "arith"))
            return k + 2
        if c == "(":
            depth, k = 1, j + 2
            while k < n and depth:
                if src[k] == "(":
                    depth += 1
                elif src[k] == ")":
                    depth -= 1
                elif src[k] in "'\"":
                    q = src[k]
                    k = src.find(q, k + 1)
                    if k < 0:
                        raise ShellSyntaxError("unterminated quote")
                k += 1
            if depth:
                raise ShellSyntaxError("unexpected EOF while looking for matching ')'")
            word.segs.append(Seg(src[j + 2 : k - 1], quoted, "cmd"))
            return k
        if c == "{":
            k = src.find("}", j + 2)
            if k < 0:
                raise ShellSyntaxError("missing }")
            word.segs.append(Seg(src[j + 2 : k], quoted, "var"))
            return k + 1
        if c in "?$#!@*0123456789-":
            word.segs.append(Seg(c, quoted, "var"))
            return j + 2
        m = NAME_RE.match(src, j + 1)
        if m:
            word.segs.append(Seg(m.group(), quoted, "var"))
            return m.end()
        lit("$", quoted)
        return j + 1

    while i < n:
        c = src[i]
        if c == "\\":
            if i + 1 < n and src[i + 1] == "\n":
                i += 2
                continue
            lit(src[i + 1] if i + 1 < n else "\\", True)
            i += 2
        elif c == "'":
            k = src.find("'", i + 1)
            if k < 0:
                raise ShellSyntaxError("unterminated '")
            lit(src[i + 1 : k], True)
            i = k + 1
        elif c == '"':
            i += 1
            if word is None:
                word = Word()
            lit("", True)
            while True:
                if i >= n:
                    raise ShellSyntaxError('unterminated "')
                c2 = src[i]
                if c2 == '"':
                    i += 1
                    break
                if c2 == "\\" and i + 1 < n and src[i + 1] in '$`"\\\n':
                    if src[i + 1] != "\n":
                        lit(src[i + 1], True)
                    i += 2
                elif c2 == "$":
                    i = dollar(i, True)
                else:
                    lit(c2, True)
                    i += 1
        elif c == "$":
            i = dollar(i, False)
        elif c == "`":
            k = src.find("`", i + 1)
            if k < 0:
                raise ShellSyntaxError("unterminated `")
            if word is None:
                word = Word()
            word.segs.append(Seg(src[i + 1 : k], False, "cmd"))
            i = k + 1
        elif c in " \t":
            end_word()
            i += 1
        elif c == "#" and word is None:
            while i < n and src[i] != "\n":
                i += 1
        else:
            op = next((o for o in OPERATORS if src.startswith(o, i)), None)
            if op is None:
                lit(c, False)
                i += 1
                continue
            # `2>file`, `2>&1`: an unquoted all-digit word right before a redirection is its fd
            if op[0] in "<>" and word is not None and len(word.segs) == 1:
                s = word.segs[0]
                if s.kind == "lit" and not s.quoted and s.text.isdigit():
                    word = None
                    out.append(f"{s.text}{op}")
                    i += len(op)
                    continue
            end_word()
            out.append(op)
            i += len(op)
            if op in ("<<", "<<-"):
                i, src, n = _heredoc(src, i, op == "<<-", out)
    end_word()
    return out


def _matching_arith(src: str, k: int) -> int:
    """Index of the `))` closing a `$((` whose body starts at k."""
    depth = 0
    while k < len(src):
        if src[k] == "(":
            depth += 1
        elif src[k] == ")":
            if depth == 0 and src.startswith("))", k):
                return k
            depth -= 1
        k += 1
    raise ShellSyntaxError("unterminated $((")


def _heredoc(src: str, i: int, strip_tabs: bool, out: list[Word | str]) -> tuple[int, str, int]:
    """Read the delimiter after `<<`, cut the document's lines out of src (they follow the
    current line) and emit it as one word (kind "heredoc"; quoted: no expansion)."""
    n = len(src)
    while i < n and src[i] in " \t":
        i += 1
    j = i
    while j < n and src[j] not in " \t\n;&|<>()":
        j += 1
    raw = src[i:j]
    if not raw:
        raise ShellSyntaxError("<< without a delimiter")
    quoted = any(q in raw for q in "'\"\\")
    delim = raw.replace("'", "").replace('"', "").replace("\\", "")
    line_end = src.find("\n", j)
    if line_end < 0:
        body, rest_start, line_end = "", n, n
    else:
        lines = []
        k = line_end + 1
        while True:
            e = src.find("\n", k)
            line = src[k:] if e < 0 else src[k:e]
            check = line.lstrip("\t") if strip_tabs else line
            if check == delim or e < 0:
                if check != delim:  # end of script: mksh takes what there is
                    lines.append(check)
                rest_start = n if e < 0 else e
                break
            lines.append(check)
            k = e + 1
        body = "".join(x + "\n" for x in lines)
    out.append(Word([Seg(body, quoted, "heredoc")]))
    src = src[:line_end] + src[rest_start:]
    return j, src, len(src)


def _kw(t: Word | str | None) -> str | None:
    """The reserved word t is, when it is one (an unquoted plain word)."""
    if isinstance(t, Word) and len(t.segs) == 1:
        s = t.segs[0]
        if s.kind == "lit" and not s.quoted and s.text in RESERVED:
            return s.text
    return None


def _plain(t: Word | str | None) -> str | None:
    if isinstance(t, Word) and len(t.segs) == 1 and t.segs[0].kind == "lit" and not t.segs[0].quoted:
        return t.segs[0].text
    return None


class _Parser:
    def __init__(self, toks: list[Word | str]) -> None:
        self.toks = toks
        self.pos = 0
        self.depth = 0

    def peek(self) -> Word | str | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def skip_newlines(self) -> None:
        while self.peek() in ("\n", ";"):
            self.pos += 1

    def expect(self, word: str) -> None:
        self.skip_newlines()
        if _kw(self.peek()) != word and self.peek() != word:
            got = self.peek()
            shown = "end of file" if got is None else "newline" if got == "\n" else _plain(got) or got
            raise ShellSyntaxError(f"'{shown}' unexpected (expecting '{word}')")
        self.pos += 1

    def parse_list(self, stop: frozenset[str]) -> list[Item]:
        """And-or lists until a reserved word in stop (at command position) or the end."""
        result: list[Item] = []
        while True:
            t = self.peek()
            if t is None:
                return result
            if t in ("\n", ";"):
                if t == ";" and not result and not stop:
                    raise ShellSyntaxError("';' unexpected")
                self.pos += 1
                continue
            if _kw(t) in stop or (isinstance(t, str) and t in stop):
                return result
            andor = AndOr(self.parse_pipeline())
            while self.peek() in ("&&", "||"):
                op = str(self.toks[self.pos])
                self.pos += 1
                while self.peek() == "\n":
                    self.pos += 1
                andor.rest.append((op, self.parse_pipeline()))
            bg = False
            t = self.peek()
            if t == "&":
                bg = True
                self.pos += 1
            elif (
                t is not None
                and t not in (";", "\n")
                and _kw(t) not in stop
                and not (isinstance(t, str) and t in stop)
            ):
                shown = _plain(t) or t
                raise ShellSyntaxError(f"'{shown}' unexpected")
            result.append((andor, bg))

    def parse_pipeline(self) -> Pipeline:
        negate = False
        if _kw(self.peek()) == "!":
            negate = True
            self.pos += 1
        cmds = [self.parse_command()]
        while self.peek() == "|":
            self.pos += 1
            while self.peek() == "\n":
                self.pos += 1
            cmds.append(self.parse_command())
        return Pipeline(cmds, negate)

    def parse_command(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ShellSyntaxError("too deeply nested")
        try:
            node = self._compound()
            if node is None:
                return self.parse_simple()
            self.parse_redirs(node.redirs)
            return node
        finally:
            self.depth -= 1

    def _compound(self) -> Node | None:
        t = self.peek()
        kw = _kw(t)
        if t == "(":
            self.pos += 1
            body = self.parse_list(frozenset({")"}))
            self.expect(")")
            return Group(body, subshell=True)
        if kw == "{":
            self.pos += 1
            body = self.parse_list(frozenset({"}"}))
            self.expect("}")
            return Group(body)
        if kw == "if":
            self.pos += 1
            branches = []
            cond = self.parse_list(frozenset({"then"}))
            self.expect("then")
            body = self.parse_list(frozenset({"elif", "else", "fi"}))
            branches.append((cond, body))
            orelse = None
            while True:
                k = _kw(self.peek())
                if k == "elif":
                    self.pos += 1
                    cond = self.parse_list(frozenset({"then"}))
                    self.expect("then")
                    branches.append((cond, self.parse_list(frozenset({"elif", "else", "fi"}))))
                elif k == "else":
                    self.pos += 1
                    orelse = self.parse_list(frozenset({"fi"}))
                else:
                    self.expect("fi")
                    return If(branches, orelse)
        if kw in ("while", "until"):
            self.pos += 1
            cond = self.parse_list(frozenset({"do"}))
            self.expect("do")
            body = self.parse_list(frozenset({"done"}))
            self.expect("done")
            return While(cond, body, until=kw == "until")
        if kw == "for":
            self.pos += 1
            name = _plain(self.peek())
            if name is None or not NAME_RE.fullmatch(name):
                raise ShellSyntaxError("for: bad variable name")
            self.pos += 1
            while self.peek() == "\n":
                self.pos += 1
            items: list[Word] | None = None
            if _kw(self.peek()) == "in":
                self.pos += 1
                items = []
                while isinstance(self.peek(), Word) and _kw(self.peek()) != "do":
                    items.append(self.toks[self.pos])  # type: ignore[arg-type]
                    self.pos += 1
            self.expect("do")
            body = self.parse_list(frozenset({"done"}))
            self.expect("done")
            return For(name, items, body)
        if kw == "case":
            self.pos += 1
            word = self.peek()
            if not isinstance(word, Word):
                raise ShellSyntaxError("case: missing word")
            self.pos += 1
            self.expect("in")
            arms: list[tuple[list[Word], list[Item]]] = []
            while True:
                self.skip_newlines()
                if _kw(self.peek()) == "esac":
                    self.pos += 1
                    return Case(word, arms)
                if self.peek() == "(":
                    self.pos += 1
                pats: list[Word] = []
                while True:
                    p = self.peek()
                    if not isinstance(p, Word):
                        raise ShellSyntaxError("case: bad pattern")
                    pats.append(p)
                    self.pos += 1
                    if self.peek() == "|":
                        self.pos += 1
                        continue
                    break
                if self.peek() != ")":
                    raise ShellSyntaxError("case: ')' expected")
                self.pos += 1
                body = self.parse_list(frozenset({";;", "esac"}))
                arms.append((pats, body))
                if self.peek() == ";;":
                    self.pos += 1
        if kw == "function":
            self.pos += 1
            name = _plain(self.peek())
            if name is None:
                raise ShellSyntaxError("function: name expected")
            self.pos += 1
            if self.peek() == "(" and self.pos + 1 < len(self.toks) and self.toks[self.pos + 1] == ")":
                self.pos += 2
            self.skip_newlines()
            return FuncDef(name, self.parse_command())
        name = _plain(t)
        if (
            name is not None
            and NAME_RE.fullmatch(name)
            and self.pos + 2 <= len(self.toks)
            and self.toks[self.pos + 1 : self.pos + 3] == ["(", ")"]
        ):
            self.pos += 3
            self.skip_newlines()
            return FuncDef(name, self.parse_command())
        return None

    def parse_redirs(self, redirs: list[Redir]) -> None:
        while isinstance(t := self.peek(), str) and _REDIR.fullmatch(t):
            redirs.append(self._redir(t))

    def _redir(self, t: str) -> Redir:
        self.pos += 1
        m = _REDIR.fullmatch(t)
        assert m is not None
        op = m.group(2)
        fd = int(m.group(1)) if m.group(1) else (0 if op.startswith("<") else 1)
        target = self.peek()
        if not isinstance(target, Word):
            raise ShellSyntaxError(f"{target or 'newline'} unexpected")
        self.pos += 1
        return Redir(fd, op, target)

    def parse_simple(self) -> Command:
        cmd = Command()
        while True:
            t = self.peek()
            if isinstance(t, Word):
                self.pos += 1
                first = t.segs[0] if t.segs else None
                if (
                    not cmd.words
                    and first is not None
                    and first.kind == "lit"
                    and not first.quoted
                    and (m := re.match(r"([A-Za-z_][A-Za-z0-9_]*)=", first.text))
                ):
                    rest = Word([Seg(first.text[m.end() :], False), *t.segs[1:]])
                    cmd.assigns.append((m.group(1), rest))
                else:
                    cmd.words.append(t)
            elif isinstance(t, str) and _REDIR.fullmatch(t):
                cmd.redirs.append(self._redir(t))
            else:
                break
        if not cmd.words and not cmd.assigns and not cmd.redirs:
            t = self.peek()
            shown = _plain(t) or t
            raise ShellSyntaxError(
                f"'{shown if shown != chr(10) else 'newline'}' unexpected" if t else "unexpected EOF"
            )
        return cmd


_REDIR = re.compile(r"(\d*)(<<-|<<|>>|>&|<&|>|<)")


def parse(src: str) -> list[Item]:
    """A list of and-or lists, each with whether it ends in `&` (background)."""
    p = _Parser(tokenize(src))
    result = p.parse_list(frozenset())
    if p.pos < len(p.toks):
        t = p.peek()
        raise ShellSyntaxError(f"'{_plain(t) or t}' unexpected")
    return result
