"""The identifying-data guard's rules and its vectorised scanner.

Shared by :mod:`riskscore.schema` (which runs the guard before any other check) and
:mod:`riskscore.privacy` (its public face, ``check_identifying``), as public names in a
private module.

The scanner reads **every row** of every column, vectorised: each column is factorised
once (``pandas.factorize``: one pass over the rows) and the patterns run on its distinct
values with RE2 regular expressions in pyarrow (C++), so a clean 50-million-row extract
costs a few passes over its columns and nothing per row in Python. A pattern found on
a distinct value is mapped back to every row holding it, so messages name the rows.

What it finds, in any column (``case_id`` and the label columns ``sex``,
``ethnic_group``, ``outcome`` included) unless the caller allowed the column:

* NHS numbers: ten digits passing the modulus-11 check, written plain or with any of
  space, dash, dot or non-breaking space between digits, alone or inside text. A
  column whose values are mostly plain ten-digit numbers is refused only when at least
  half pass (about 1 in 11 random ten-digit ids do); a lone plain number in any other
  column, and every separated one, is refused on its own;
* UK postcodes (full unit postcodes) in any case and spacing;
* person names whatever the case: a common forename followed by another word
  (``jane smith``, ``JANE SMITH``), ``Surname, Forename``, or a title and a word
  (``Mrs Patel``); in columns outside the contract also a majority of title-case
  two-to-four-word values (``Zorbo Quimble``);
* e-mail addresses and UK telephone numbers (``07700 900123``, ``+44 20 7946 0000``);
* full dates (``2095-03-04``, ``04/03/2095``, ``4 March 2095``) in any column other
  than the contract's date columns, and any datetime column outside them; in a column
  whose name mentions birth also ``yyyymmdd`` numbers and Unix times;
* free text: a value of six or more words with two or more pronouns, verbs or
  articles (``she said the flat was cold``), or of 20 words or 200 characters; in
  columns outside the contract also a column of long values on average.

Heuristics misfire (a column of school names is a column of title-case words); a
caller who knows a column is safe passes ``allow={"column": "reason"}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.errors import SchemaError

__all__ = [
    "nhs_number_valid",
    "mask_value",
    "masked_examples",
    "where_text",
    "check_allow",
    "scan_identifying",
    "identifying_message",
    "normalise_ids",
    "unshown_character",
    "id_text",
    "name_reason",
    "FREE_TEXT_WORDS",
    "FREE_TEXT_CHARS",
]

# --------------------------------------------------------------------------- patterns

# Separators people write inside numbers: space, dash, dot, no-break spaces, tab.
_SEP = r"[ \t.\-\x{00A0}\x{2007}\x{202F}]"
# Ten digits as NHS numbers are written: 3-3-4, the groups joined by nothing or by up
# to three separators (" - "), bounded by neither a letter nor a digit (inside a hex
# token or a longer number it is not an NHS number; a date-time's digits are not
# grouped 3-3-4).
_NHS_SHAPE = r"[0-9]{3}" + _SEP + r"{0,3}[0-9]{3}" + _SEP + r"{0,3}[0-9]{4}"
_NHS_IN_TEXT = r"(?:^|[^0-9A-Za-z])(?P<n>" + _NHS_SHAPE + r")(?:[^0-9A-Za-z]|$)"
_POSTCODE = (
    r"(?i)(?:^|[^A-Z0-9])(?:GIR" + _SEP + r"*0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}"
    r"|[0-9][A-HJKS-UW]|[A-HK-Y][0-9][ABEHMNPRV-Y])" + _SEP + r"*[0-9][ABD-HJLNP-UW-Z]{2})"
    r"(?:[^A-Z0-9]|$)"
)
_EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
_PSEP = r"[ \t.\-()\x{00A0}\x{2007}\x{202F}]"
_PHONE = (
    r"(?:^|[^0-9A-Za-z+])(?:(?:\+|00)44" + _PSEP + r"*(?:\(0\)" + _PSEP + r"*)?|\(?0)"
    r"[1-9](?:" + _PSEP + r"{0,2}[0-9]){8,9}(?:[^0-9A-Za-z]|$)"
)
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])"
_MON = r"(?:0?[1-9]|1[0-2])"
_FULL_DATE = (
    r"(?i)(?:^|[^0-9A-Za-z])(?:"
    r"[0-9]{4}[\-/.]"
    + _MON
    + r"[\-/.]"
    + _DAY
    + r"|"
    + _DAY
    + r"[\-/.]"
    + _MON
    + r"[\-/.](?:[0-9]{4}|[0-9]{2})"
    + r"|"
    + _MON
    + r"[\-/.]"
    + _DAY
    + r"[\-/.](?:[0-9]{4}|[0-9]{2})"
    + r"|"
    + _DAY
    + r" "
    + _MON
    + r" [0-9]{4}"
    + r"|"
    + _DAY
    + r"(?:st|nd|rd|th)?[ \-]*"
    + _MONTHS
    + r"[ \-,]*[0-9]{2,4}"
    + r"|"
    + _MONTHS
    + r" "
    + _DAY
    + r"(?:st|nd|rd|th)?,? [0-9]{4}"
    + r")(?:[^0-9A-Za-z]|$)"
)
_YYYYMMDD = r"(?:1[89]|2[0-9])[0-9]{2}" + r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"

# Common forenames in England and Wales, across communities. Words that are also
# common English words or place names (Grace, Hope, Rose, Mark, Will, May, Chad...)
# are left out: a label such as "Grace Academy" must not read as a person.
_FORENAMES = """
aaliyah aaron aarav abdul abdullah abigail adam adaeze adrian agnes ahmad ahmed aidan
aiden aisha alan albert alexander alexandra alfie alice alicia alison amanda amara
amelia amelie amir amira amy andrea andrew angela anjali ann anna anne annie anthony
archie arjun arthur ashley aurora ava ayesha barbara beatrice ben benjamin bethany
beverley bilal bradley brandon brenda brian bronwen callum cameron carl carly carol
caroline catherine charles charlie charlotte chelsea chinedu chioma chloe christine
christopher claire clare colin connor craig daniel daniela danielle darren david
dean debbie deborah declan denise derek diana diane dominic donna dorothy dylan
edward eileen elaine eleanor elena eliza elizabeth ella ellie elliot elliott emeka
emily emma eric erin esme ethan euan eve evelyn evie ewan fatima fiona florence
frances francesca freddie frederick freya funmilayo gareth gary gavin gemma geoffrey
george georgia gillian gordon graham gurpreet hafsa hamza hannah harjit harpreet
harriet harrison harry harvey hassan hayley heather heidi helen henry hira holly hugh
hussain ian ibrahim imogen imran iqra isaac isabel isabella isabelle isla ismail
ivy jack jacob jacqueline jade jake james jamie jane janet jasmine jason jaspreet
jeffrey jennifer jenny jeremy jessica jill joan joanna joanne jodie joe joel john
jonathan jordan joseph josephine joshua judith julia julian julie justin kacper kai
karen karim kate katherine kathleen kathryn katie kayleigh keith kelly kenneth
kerry kevin khadija kieran kirsty kofi kwame kyle laura lauren layla leah leanne
leo lesley lewis liam lily linda lindsay lisa logan lola lorraine louis louise lucas
lucy luke lydia lynn lynne maisie malcolm mandeep margaret maria marie martha martin
mary maryam mason mateusz matilda matthew maureen maya megan melanie melissa
michael michelle millie mohamed mohammad mohammed molly muhammad nadia naomi natalie
natasha nathan neil ngozi niall niamh nicholas nicola nicole noah noor norman
oliver olivia oluwaseun omar orla oscar oskar owen paige pamela patricia patrick paul
paula pauline peter philip phoebe piotr priya rachel rahul raymond rebecca reuben
richard riley robert rohan ronald rosie ross ruby ryan safiya sally samantha samuel
sandra sanjay sara sarah scarlett scott sean sebastian shane sharon sheila shirley
siobhan simon simran sophia sophie stacey stanley stephanie stephen steven stuart
susan suzanne tariq teresa terence thea theo theodore thomas timothy tina toby tommy
tracey tracy trevor tunde tyler usman valerie vanessa victoria vikram vincent wayne
wendy william yasmin yusuf yvonne zachary zain zainab zara zoe
""".split()
_NAMES = "|".join(_FORENAMES)
_W = r"[a-z][a-z'\x{2019}\-]+"
_PERSON_ANY_CASE = (
    r"(?i)(?:^|[^a-z])(?:"
    r"(?:"
    + _NAMES
    + r")(?:[ \t\-\x{00A0}]+[a-z]\.?)*[ \t\-\x{00A0}]+"
    + _W
    + r"|"
    + _W
    + r",[ \t\x{00A0}]*(?:"
    + _NAMES
    + r")(?:[^a-z]|$)"
    + r"|(?:mr|mrs|ms|miss|mx|dr)\.?[ \t\x{00A0}]+(?:[a-z]\.?[ \t\x{00A0}]+)*"
    + _W
    + r")"
)
_TITLE_WORD = r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)*"
_PERSON_TITLE_CASE = (
    rf"(?:{_TITLE_WORD}(?: {_TITLE_WORD}){{1,3}}|{_TITLE_WORD}, {_TITLE_WORD}(?: {_TITLE_WORD})?)"
)
_FUNCTION_WORDS = (
    r"(?i)\b(?:the|was|were|is|are|has|had|have|he|she|his|her|him|they|them|their|"
    r"said|says|told|seen|saw|visited|reports?|reported|mum|dad|mother|father|because|"
    r"not|but|with|this|that|who|when|then|been)\b"
)
#: A value this long is free text whatever its words.
FREE_TEXT_WORDS = 20
FREE_TEXT_CHARS = 200
#: Column-level free text (outside the contract): many words or long values on average.
_FREE_TEXT_MEAN_WORDS = 8.0
_FREE_TEXT_MEAN_CHARS = 60.0
#: Share of distinct values that makes a column of plain ten-digit numbers NHS numbers,
#: and a column of title-case words person names (random ids pass mod 11 1 time in 11).
_SHARE = 0.5

# Column-name phrases (snake_case, matched as whole tokens) that identify a person.
_NAME_PHRASES: dict[str, tuple[str, ...]] = {
    "a person's name": (
        "name",
        "names",
        "forename",
        "forenames",
        "surname",
        "surnames",
        "firstname",
        "lastname",
        "fullname",
        "middlename",
        "maidenname",
        "nickname",
        "alias",
        "initials",
    ),
    "an NHS number or other national identifier": (
        "nhs",
        "nhs_no",
        "nhs_number",
        "nhsnumber",
        "chi_number",
        "upn",
        "uln",
        "unique_pupil_number",
        "nino",
        "ni_number",
        "national_insurance",
        "hospital_number",
        "mrn",
    ),
    "an address or postcode": (
        "postcode",
        "post_code",
        "postal_code",
        "zip",
        "zipcode",
        "address",
        "addr",
        "street",
    ),
    "contact details": ("email", "e_mail", "phone", "telephone", "mobile", "tel"),
    "a full date of birth": (
        "dob",
        "date_of_birth",
        "birth_date",
        "birthdate",
        "dateofbirth",
        "birthday",
        "born",
    ),
    "free text": (
        "free_text",
        "freetext",
        "text",
        "notes",
        "note",
        "comment",
        "comments",
        "narrative",
        "remarks",
        "description",
        "details",
    ),
}

_NHS_WEIGHTS = np.arange(10, 1, -1)
_WHITESPACE_RUN = r"[\s\x{00A0}\x{2007}\x{202F}\x{FEFF}]+"


# --------------------------------------------------------------------------- helpers


def mask_value(value) -> str:
    """A value as messages may show it: at most its first two characters, the rest starred.

    Letters and digits after the first two (the first one in values under six
    characters, none in values under three) become ``*``; punctuation, spaces and
    underscores are kept, so the shape stays readable; values longer than 16
    characters are cut. No value is ever shown whole.

    Examples
    --------
    >>> mask_value("Jane Smith 9434765919")
    'Ja** ***** *****...'
    >>> mask_value("2101-02-30"), mask_value("85%"), mask_value("ab")
    ('21**-**-**', '8*%', '**')
    """
    text = str(value)
    cut = text[:16]
    keep = 2 if len(text) >= 6 else (1 if len(text) >= 3 else 0)
    # letters and digits of any script; punctuation, spaces and underscores kept
    return cut[:keep] + re.sub(r"[^\W_]", "*", cut[keep:]) + ("..." if len(text) > 16 else "")


def masked_examples(values, limit: int = 3) -> str:
    """Up to ``limit`` distinct values, masked, for a message (never a whole value)."""
    shown = [repr(mask_value(v)) for v in list(dict.fromkeys(str(x) for x in values))[:limit]]
    return ", ".join(shown)


def where_text(rows, first_line: int | None = None) -> str:
    """``"rows 0, 4 and 2 more"`` (0-based positions) or ``"lines 2, 6 ..."`` (file lines).

    ``first_line`` is the file line of the first data row (2 under a header line).
    """
    rows = np.asarray(rows, dtype=np.int64)
    shown = rows[:10] if first_line is None else rows[:10] + first_line
    more = f" and {len(rows) - 10:,} more" if len(rows) > 10 else ""
    noun = "row" if first_line is None else "line"
    noun += "" if len(rows) == 1 else "s"
    return f"{noun} {', '.join(str(int(r)) for r in shown)}{more}"


def normalise_ids(series: pd.Series) -> pd.Series:
    """Case ids as text with white space normalised: runs of any white space (no-break
    spaces included) become one space, and leading/trailing space is removed.

    ``" c1"``, ``"c1 "`` and ``"c1"`` are one child. Missing stays missing; a
    categorical keeps its codes (its categories are normalised and merged).
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = _normalise_text(id_text(pd.Series(series.cat.categories)))
        codes, uniq = pd.factorize(cats)
        old = series.cat.codes.to_numpy()
        new = np.where(old >= 0, codes[np.maximum(old, 0)] if len(codes) else -1, -1)
        return pd.Series(
            pd.Categorical.from_codes(new, categories=pd.Index(uniq, dtype="str")),
            index=series.index,
            name=series.name,
        )
    # once per distinct id, not per row
    codes, uniq = pd.factorize(series)
    raw = id_text(pd.Series(uniq))
    text = _normalise_text(raw)
    if pd.api.types.is_string_dtype(series.dtype) and (text == raw).all():
        return series.astype("str")  # already in the contract's form
    values = np.asarray(text.to_numpy(dtype=object), dtype=object)
    out = np.where(codes >= 0, values[np.maximum(codes, 0)] if len(values) else None, None)
    return pd.Series(out, index=series.index, name=series.name, dtype="str")


def _normalise_text(text: pd.Series) -> pd.Series:
    arr = pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    arr = pc.replace_substring_regex(arr, _WHITESPACE_RUN, " ")
    arr = pc.utf8_trim_whitespace(arr)
    return pd.Series(arr.to_numpy(zero_copy_only=False), index=text.index, dtype="str")


def id_text(series: pd.Series) -> pd.Series:
    """Ids as text; whole floats (ids read from CSV with blanks) lose their ``.0``."""
    if pd.api.types.is_float_dtype(series.dtype):
        whole = series.dropna()
        if (whole == np.floor(whole)).all():
            return series.astype("Int64").astype("str")
    return series.astype("str")


def nhs_number_valid(values) -> np.ndarray:
    """Which values are ten-digit numbers passing the NHS number modulus-11 check.

    The check digit (10th) is ``11 - (sum of the first nine digits weighted 10..2)
    mod 11``, with 11 read as 0; a result of 10 means the number is invalid. Values
    may be written as ten digits or in their 3-3-4 groups joined by spaces, dashes,
    dots or no-break spaces (``943 476 5919``, ``943.476.5919``); integers lose
    leading zeros and are padded back. Repeated-digit values (``0000000000``)
    are never real numbers and are not counted.

    Parameters
    ----------
    values : array-like of str or int
        Candidate values; missing values are False.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> nhs_number_valid(["999 123 4578", "999.123.4578", "9991234579", "12345"]).tolist()
    [True, True, False, False]
    """
    s = pd.Series(values, dtype=object)
    out = np.zeros(len(s), dtype=bool)
    if len(s) == 0:
        return out
    is_int = s.map(lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool))
    if is_int.any():
        # Integers lose leading zeros, so 9- and 10-digit ones are padded back; smaller
        # integers are counts or codes, never NHS numbers.
        s = s.where(
            ~is_int,
            s[is_int].map(lambda v: f"{int(v):010d}" if 100_000_000 <= v < 10**10 else ""),
        )
    text = pa.array(s.map(lambda v: v if isinstance(v, str) else None), type=pa.string())
    text = pc.utf8_trim_whitespace(text)
    shaped = pc.fill_null(pc.match_substring_regex(text, "^" + _NHS_SHAPE + "$"), False)
    shaped = np.asarray(shaped, dtype=bool)
    if shaped.any():
        out[np.flatnonzero(shaped)] = _mod11(text.filter(pa.array(shaped)))
    return out


def _mod11(text) -> np.ndarray:
    """Modulus-11 check of NHS-shaped text values (ten digits plus separators)."""
    digits_text = pc.replace_substring_regex(text, r"[^0-9]", "")
    raw = np.frombuffer("".join(digits_text.to_pylist()).encode("ascii"), dtype=np.uint8)
    digits = (raw.reshape(-1, 10) - ord("0")).astype(np.int64)
    check = 11 - (digits[:, :9] @ _NHS_WEIGHTS) % 11
    check[check == 11] = 0
    return (check != 10) & (check == digits[:, 9]) & (digits != digits[:, :1]).any(axis=1)


def _normalise_name(column) -> str:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(column))
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def name_reason(column) -> str | None:
    """What a column's name says it holds, when that is identifying (else None)."""
    norm = _normalise_name(column)
    padded = f"_{norm}_"
    for reason, phrases in _NAME_PHRASES.items():
        if any(f"_{p}_" in padded for p in phrases):
            return reason
    if any(re.fullmatch(r"dob\d*|born\d*", t) for t in norm.split("_")):
        return "a full date of birth"
    return None


def _birth_named(column) -> bool:
    tokens = _normalise_name(column).split("_")
    return any(t in ("birth", "dob", "born") or re.fullmatch(r"dob\d*", t) for t in tokens)


def check_allow(allow, columns) -> dict[str, str]:
    """``allow`` checked: a mapping of column to a stated reason; kept for the present columns."""
    if allow is None:
        return {}
    if not isinstance(allow, Mapping):
        raise SchemaError(
            "allow must be a mapping {column: reason}, e.g. allow={'ref': 'random 10-digit "
            f"ids, not NHS numbers'}}; got {type(allow).__name__}"
        )
    kept = {}
    for column, reason in allow.items():
        if not isinstance(reason, str) or not reason.strip():
            raise SchemaError(
                f"allow[{column!r}] needs a stated reason (a non-empty string), because the "
                "reason is kept in the provenance of every output; e.g. "
                f"allow={{{column!r}: 'school names, not people'}}"
            )
        hidden = unshown_character(reason.strip())
        if hidden:
            raise SchemaError(
                f"allow[{column!r}]: the reason holds the character {hidden}, which a "
                "terminal or viewer acts on instead of showing (an escape sequence, a "
                "right-to-left or zero-width mark, a line break); the reason is kept in the "
                "provenance of every output and shown to output checkers. Fix: write the "
                "reason as one line of plain text"
            )
        if column in columns:
            kept[str(column)] = reason.strip()
    return kept


def unshown_character(text: str) -> str | None:
    """The first character of ``text`` that is acted on rather than shown (control and
    format characters, line and paragraph separators), as ``U+XXXX (NAME)``; else None."""
    import unicodedata

    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            name = unicodedata.name(ch, "")
            return f"U+{ord(ch):04X}" + (f" ({name})" if name else "")
    return None


def _allow_fix(column) -> str:
    return (
        f"remove or anonymise column {column!r} before loading; if the heuristic is wrong "
        f"for this column, pass allow={{{str(column)!r}: 'why it is safe'}} (the reason is "
        "kept in the provenance of every output)"
    )


def identifying_message(problems: list[dict]) -> str:
    """The error text for a list of identifying-data problems (one block each)."""
    columns = len({p["column"] for p in problems})
    lines = [
        f"{columns} column(s) look identifying; riskscore works on anonymised data only "
        "(values are shown masked):"
    ]
    for p in problems:
        lines.append(f"- {p['message']}\n  fix: {p['fix']}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- scanner


class _Column:
    """One column's distinct values (as pyarrow text, or integers) and each row's code."""

    def __init__(self, codes: np.ndarray, text, numbers: np.ndarray, ints=None):
        self.codes = codes
        self.text = text
        #: distinct values that were numbers (not text)
        self.numbers = numbers
        #: the distinct values of an all-integer column (then ``text`` is None)
        self.ints = ints

    def __len__(self) -> int:
        return len(self.ints) if self.ints is not None else len(self.text)

    def value(self, i: int) -> str:
        """Distinct value ``i`` as text (for a masked example)."""
        return str(self.ints[i]) if self.ints is not None else str(self.text[i].as_py())

    def rows(self, hit: np.ndarray) -> np.ndarray:
        """Rows whose distinct value is flagged in ``hit``."""
        lut = np.append(hit, False)
        return np.flatnonzero(lut[self.codes])


def _int_text(values: np.ndarray) -> np.ndarray:
    """Integers as text; nine- and ten-digit ones padded to ten (an NHS number as an
    integer loses its leading zero)."""
    v = np.asarray(values, dtype=np.int64)
    text = pd.Series(v).astype(str)
    pad = (v >= 10**8) & (v < 10**10)
    text[pad] = text[pad].str.zfill(10)
    return text.to_numpy(dtype=object)


def _distinct(series: pd.Series) -> _Column | None:
    """Factorise one column (one pass over its rows); None when nothing can identify."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy().astype(np.int64)
        cats = series.cat.categories
        used = np.bincount(codes[codes >= 0], minlength=len(cats)) > 0
        # categories no row uses hold no one's data; they are not scanned
        keep = np.flatnonzero(used)
        remap = np.full(len(cats) + 1, -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        codes = remap[codes]
        return _from_uniques(codes, pd.Series(cats[keep]))
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_float_dtype(dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[~np.isnan(values)]
        if not (finite == np.floor(finite)).all() or (np.abs(finite) >= 2**53).any():
            return None  # fractions identify no one
        codes, uniq = pd.factorize(values)
        return _from_uniques(np.asarray(codes), pd.Series(uniq.astype(np.int64)))
    if isinstance(dtype, pd.StringDtype) or isinstance(dtype, pd.ArrowDtype):
        text = _arrow_text(series)
        if text is not None:
            # hash the text in C++ (pyarrow): codes and distinct values, no Python objects
            enc = pc.dictionary_encode(text)
            codes = np.asarray(pc.fill_null(enc.indices, -1), dtype=np.int64)
            uniq = enc.dictionary
            return _Column(codes, uniq, np.zeros(len(uniq), dtype=bool))
    codes, uniq = pd.factorize(series)
    return _from_uniques(np.asarray(codes), pd.Series(np.asarray(uniq)))


def _arrow_text(series: pd.Series) -> pa.Array | None:
    """A text column as one pyarrow string array (zero-copy when arrow-backed), or None."""
    try:
        arr = pa.array(series.array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.string())
    return arr if pa.types.is_string(arr.type) else None


def _from_uniques(codes: np.ndarray, uniq: pd.Series) -> _Column:
    codes = np.asarray(codes, dtype=np.int64)
    if pd.api.types.is_integer_dtype(uniq.dtype):
        ints = uniq.to_numpy(dtype=np.int64)
        return _Column(codes, None, np.ones(len(ints), dtype=bool), ints)
    if pd.api.types.infer_dtype(uniq, skipna=True) in ("string", "empty"):
        text = uniq.to_numpy(dtype=object)
        numbers = np.zeros(len(uniq), dtype=bool)
    else:
        # mixed objects (a column of ints and text): per distinct value, not per row
        raw = uniq.to_numpy(dtype=object)
        numbers = np.array(
            [isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in raw],
            dtype=bool,
        )
        text = np.array([str(v) for v in raw], dtype=object)
        if numbers.any():
            text[numbers] = _int_text(raw[numbers].astype(np.int64))
    return _Column(codes, pa.array(text, type=pa.string()), numbers)


def _bool(arr) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False), dtype=bool)


def _keep_unless_id_column(hit: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """In a column of plain digit ids, hits among them count only when most are hits.

    ``plain`` marks the values of the shape in question (ten plain digits; a plain
    zero-led number). About 1 in 11 random ten-digit ids pass the NHS modulus-11 check
    and many zero-padded ids look like telephone numbers: a column of NHS or telephone
    numbers is mostly hits, a column of ids is not. In any other column (of counts,
    codes or text) a hit is a hit.
    """
    if plain.sum() >= _SHARE * len(plain) and plain.any() and hit[plain].mean() < _SHARE:
        return hit & ~plain
    return hit


def _scoped(pattern: str) -> str:
    """A pattern as one alternative of a larger one (its flags kept to itself)."""
    if pattern.startswith("(?i)"):
        return "(?i:" + pattern[4:] + ")"
    return "(?:" + pattern + ")"


# Every value a detailed pattern could flag matches this one regex (their union): one
# pass over a column's distinct values finds the few worth a closer look, so clean id
# columns cost one regex, and the detailed patterns run on those few only. Values with
# white space are also looked at for free text and title-case names (cheaper counts).
_PATTERNS = "|".join(
    _scoped(p)
    for p in (
        _NHS_IN_TEXT.replace("?P<n>", ""),
        _POSTCODE,
        _EMAIL,
        _PHONE,
        _FULL_DATE,
        _PERSON_ANY_CASE,
    )
)
_SPACE = r"[\s,\x{00A0}\x{2007}\x{202F}]"
_DATE_WHAT = (
    "{n:,} distinct value(s) hold full dates (e.g. {e}) outside the contract's date columns; "
)


#: 2100-01-01 in Unix seconds: birth-named integers below it (from 10**8, 1973) are times
_UNIX_2100 = 4_102_444_800


def _int_findings(col: _Column, *, birth: bool):
    """Findings in an all-integer column: NHS numbers (their leading zero lost) and, in a
    column named for birth, ``yyyymmdd`` dates and Unix times; counts and codes are
    nothing."""
    v = col.ints
    found = []
    ten = (v >= 10**8) & (v < 10**10)
    nhs = np.zeros(len(v), dtype=bool)
    if ten.any():
        digits = (v[ten, None] // 10 ** np.arange(9, -1, -1)) % 10
        check = 11 - (digits[:, :9] @ _NHS_WEIGHTS) % 11
        check[check == 11] = 0
        nhs[ten] = (check != 10) & (check == digits[:, 9]) & (digits != digits[:, :1]).any(axis=1)
        nhs = _keep_unless_id_column(nhs, ten)
    if nhs.any():
        found.append(
            (
                "nhs_number",
                nhs,
                "{n:,} distinct value(s) are ten-digit numbers passing the NHS number "
                "modulus-11 check (e.g. {e})",
                None,
            )
        )
    if birth:
        y, m, d = v // 10_000, (v // 100) % 100, v % 100
        dates = (y >= 1800) & (y <= 2999) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31)
        # Unix times in seconds or milliseconds (1973 to 2099): a date and a time of birth
        dates |= ((v >= 10**8) & (v < _UNIX_2100)) | ((v >= 10**11) & (v < _UNIX_2100 * 1000))
        if dates.any():
            found.append(
                (
                    "date_of_birth",
                    dates,
                    _DATE_WHAT.replace("hold full dates", "are yyyymmdd dates or Unix times")
                    + "a full date of birth identifies a child",
                    "birth",
                )
            )
    return found


def _value_findings(col: _Column, *, dates_allowed: bool, birth: bool, column_level: bool):
    """(check, flagged distinct values, message template, fix) for one column's values."""
    if col.ints is not None:
        return _int_findings(col, birth=birth)
    text = pc.utf8_trim_whitespace(col.text)
    n = len(text)
    patterned = _bool(pc.match_substring_regex(text, _PATTERNS))
    suspect = patterned | _bool(pc.match_substring_regex(text, _SPACE))
    chars = np.asarray(pc.utf8_length(text), dtype=np.float64)
    words = (chars > 0).astype(np.float64)  # no white space: one word (or none)
    found = []
    if birth:
        # yyyymmdd in a column named for birth is a date of birth too
        suspect |= _bool(pc.match_substring_regex(text, "^" + _YYYYMMDD + "$"))
    if suspect.any():
        idx = np.flatnonzero(suspect)
        sub = text.filter(pa.array(suspect))

        p_idx = np.flatnonzero(patterned)
        p_sub = text.filter(pa.array(patterned))

        def hits(pattern: str) -> np.ndarray:
            # one of the patterns in _PATTERNS: only values matching their union can match
            out = np.zeros(n, dtype=bool)
            if len(p_idx):
                out[p_idx] = _bool(pc.match_substring_regex(p_sub, pattern))
            return out

        def suspect_hits(pattern: str) -> np.ndarray:
            out = np.zeros(n, dtype=bool)
            out[idx] = _bool(pc.match_substring_regex(sub, pattern))
            return out

        def plain(shape: str) -> np.ndarray:
            # values of one plain digit shape, over every distinct value (only when a
            # number was found)
            return _bool(pc.match_substring_regex(text, shape))

        nhs = np.zeros(n, dtype=bool)
        cand = hits(_NHS_IN_TEXT)
        if cand.any():
            found_nhs = pc.struct_field(
                pc.extract_regex(text.filter(pa.array(cand)), _NHS_IN_TEXT), 0
            )
            nhs[np.flatnonzero(cand)] = _mod11(found_nhs)
            nhs = _keep_unless_id_column(nhs, plain(r"^[0-9]{10}$"))
        if nhs.any():
            found.append(
                (
                    "nhs_number",
                    nhs,
                    "{n:,} distinct value(s) hold ten digits passing the NHS number modulus-11 "
                    "check (e.g. {e})",
                    None,
                )
            )
        for check, pattern, what in (
            ("postcode", _POSTCODE, "{n:,} distinct value(s) hold UK postcodes (e.g. {e})"),
            ("email", _EMAIL, "{n:,} distinct value(s) hold e-mail addresses (e.g. {e})"),
        ):
            hit = hits(pattern)
            if hit.any():
                found.append((check, hit, what, None))
        phone = hits(_PHONE) & ~nhs
        if phone.any():
            phone = _keep_unless_id_column(phone, plain(r"^0[0-9]{9,10}$"))
        if phone.any():
            found.append(
                (
                    "phone_number",
                    phone,
                    "{n:,} distinct value(s) hold UK telephone numbers (e.g. {e})",
                    None,
                )
            )
        if not dates_allowed:
            dates = hits(_FULL_DATE)
            if birth:
                dates |= suspect_hits("^" + _YYYYMMDD + "$")
            if dates.any():
                found.append(
                    (
                        "date_of_birth" if birth else "full_date",
                        dates,
                        _DATE_WHAT
                        + (
                            "a full date of birth identifies a child"
                            if birth
                            else "a full date (of birth, of an incident) can identify a child"
                        ),
                        "birth" if birth else None,
                    )
                )
        person = hits(_PERSON_ANY_CASE)
        share_rule = False
        if column_level:
            title = suspect_hits("^" + _PERSON_TITLE_CASE + "$")
            if title.mean() >= _SHARE:
                person |= title
                share_rule = True
        if person.any():
            found.append(
                (
                    "person_name",
                    person,
                    "{n:,} distinct value(s) look like person names (e.g. {e})"
                    + ("; most values are title-case words like names" if share_rule else ""),
                    None,
                )
            )
        # the values are trimmed and not empty: words are the runs of white space plus
        # one (counting the runs is faster than counting the words)
        words[idx] = np.asarray(pc.count_substring_regex(sub, r"\s+"), dtype=np.float64) + 1
        function = np.zeros(n, dtype=np.int64)
        # function words only matter in values of six words or more (the rule below)
        long = words >= 6
        if long.any():
            function[long] = np.asarray(
                pc.count_substring_regex(text.filter(pa.array(long)), _FUNCTION_WORDS),
                dtype=np.int64,
            )
    else:
        function = np.zeros(n, dtype=np.int64)
    free = ((words >= 6) & (function >= 2)) | (words >= FREE_TEXT_WORDS)
    free |= chars >= FREE_TEXT_CHARS
    text_values = ~col.numbers
    if column_level and text_values.any():
        mean_words = words[text_values].mean()
        mean_chars = chars[text_values].mean()
        if mean_words >= _FREE_TEXT_MEAN_WORDS or (
            mean_chars > _FREE_TEXT_MEAN_CHARS and mean_words >= 3
        ):
            free |= text_values & ((words >= 3) | (chars > _FREE_TEXT_MEAN_CHARS))
    if free.any():
        found.append(
            (
                "free_text",
                free,
                "{n:,} distinct value(s) look like free text (e.g. {e}); free text routinely "
                "names people and places",
                None,
            )
        )
    return found


def scan_identifying(
    df: pd.DataFrame,
    *,
    table: str,
    allowed: Mapping[str, str],
    date_columns: frozenset,
    contract_columns: frozenset,
    label_columns: frozenset,
    first_line: int | None = None,
) -> list[dict]:
    """Scan every row of every column of ``df`` for identifying data (see the module notes).

    ``allowed`` columns are skipped; ``date_columns`` may hold full dates;
    ``contract_columns`` are not judged by their names (the contract names them) nor by
    the column-level heuristics for extra columns; ``label_columns`` are free-form
    labels. ``first_line`` turns row positions into file line numbers in messages.
    Returns one problem dict per (column, check).
    """
    problems: list[dict] = []
    seen: set[str] = set()

    def add(column, check, rows, what, fix=None):
        if fix == "birth":
            fix = "keep only the year of birth as an integer column 'birth_year'; " + _allow_fix(
                column
            )
        rows = np.asarray(rows, dtype=np.int64)
        where = f"; {where_text(rows, first_line)}" if len(rows) else ""
        problems.append(
            {
                "table": table,
                "column": str(column),
                "check": check,
                "rows": [int(r) for r in rows[:10]],
                "n_rows": int(len(rows)),
                "message": f"{table}.{column}: {what}{where}",
                "fix": fix or _allow_fix(column),
            }
        )

    for i, column in enumerate(df.columns):
        name = str(column)
        if name in allowed or name in seen:
            continue
        seen.add(name)
        contract = name in contract_columns
        if not contract:
            reason = name_reason(name)
            if reason is not None:
                add(name, "identifying_name", [], f"the column name suggests it holds {reason}")
                continue
        series = df.iloc[:, i]
        birth = _birth_named(name)
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            if name in date_columns and not birth:
                continue
            rows = np.flatnonzero(series.notna().to_numpy())
            if len(rows):
                check = "date_of_birth" if birth else "full_date"
                add(
                    name,
                    check,
                    rows,
                    f"{len(rows):,} value(s) are full dates (e.g. "
                    f"{mask_value(series.iloc[rows[0]])}) outside the contract's date columns; "
                    + (
                        "a full date of birth identifies a child"
                        if birth
                        else "a full date (of birth, of an incident) can identify a child"
                    ),
                    (
                        "keep only the year of birth as an integer column 'birth_year'; "
                        if birth
                        else ""
                    )
                    + _allow_fix(name),
                )
            continue
        col = _distinct(series)
        if col is None or len(col) == 0:
            continue
        for check, hit, what, fix in _value_findings(
            col,
            dates_allowed=name in date_columns and not birth,
            birth=birth,
            column_level=not contract and name not in label_columns,
        ):
            example = mask_value(col.value(int(np.flatnonzero(hit)[0])))
            add(name, check, col.rows(hit), what.format(n=int(hit.sum()), e=example), fix)
    return problems
