"""The same small 3D LUT in every form the Adobe/IRIDAS cube specification allows (tests of /look:
Proxx's parse and what FFmpeg renders must agree for each)."""

from __future__ import annotations


def cube_text(size=2, fn=lambda r, g, b: (r, g, b), header="") -> str:
    rows = [
        " ".join(f"{v:.6f}" for v in fn(r / (size - 1), g / (size - 1), b / (size - 1)))
        for b in range(size)
        for g in range(size)
        for r in range(size)
    ]
    return f'TITLE "test"\n{header}LUT_3D_SIZE {size}\n' + "\n".join(rows) + "\n"


PLAIN = cube_text(2, fn=lambda r, g, b: (1 - r, g * 0.5, b))
#: the same LUT as PLAIN written in each form the Adobe/IRIDAS cube specification allows
CUBE_FORMS = {
    "bom": "\ufeff" + PLAIN,
    "bom_first_keyword": "\ufeff" + PLAIN.split("\n", 1)[1],
    "crlf": PLAIN.replace("\n", "\r\n"),
    "comments_and_blank_lines_everywhere": "# made by a grader\n\n"
    + PLAIN.replace("LUT_3D_SIZE 2\n", "LUT_3D_SIZE 2\n# rows\n\n")
    + "# end of table\n\n",
    "domain_before_size": PLAIN.replace('TITLE "test"\n', 'DOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 1 1\nTITLE "test"\n'),
    "domain_after_size_title_last": PLAIN.replace(
        'TITLE "test"\nLUT_3D_SIZE 2\n', 'LUT_3D_SIZE 2\nDOMAIN_MAX 1.0 1.0 1.0\nTITLE "test"\n'
    ),
    "indented_and_tabbed_keywords": PLAIN.replace("LUT_3D_SIZE 2\n", "  LUT_3D_SIZE\t2 \n"),
    "no_final_newline": PLAIN.rstrip("\n"),
}
