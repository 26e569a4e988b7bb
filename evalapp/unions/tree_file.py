"""The columns of a union tree file (工会组织架构表), shared by the importer and its template."""
from evalapp.unions.models import UnionKind, UnionSector

CODE, NAME, PARENT_CODE, KIND, SECTOR, CHAIR_PHONE = "工会代码", "工会名称", "上级工会代码", "类型", "所属类型", "主席手机号"
COLUMNS = (CODE, NAME, PARENT_CODE, KIND, SECTOR, CHAIR_PHONE)
REQUIRED = (CODE, NAME, KIND)
#: English headers (compared in lower case) and other spellings seen in federations' sheets.
ALIASES = {"code": CODE, "name": NAME, "parent_code": PARENT_CODE, "parent": PARENT_CODE, "kind": KIND, "type": KIND,
           "sector": SECTOR, "chair_phone": CHAIR_PHONE, "统一社会信用代码": CODE, "上级代码": PARENT_CODE,
           "工会类型": KIND, "主席手机": CHAIR_PHONE}
KINDS_BY_LABEL = {kind.label: kind for kind in UnionKind}
SECTORS_BY_LABEL = {sector.label: sector for sector in UnionSector}
TEMPLATE_ROWS = (
    ("91440700MA00000001", "江门市某区总工会", "", UnionKind.county.label, UnionSector.other.label, ""),
    ("91440700MA00000002", "某某有限公司工会", "91440700MA00000001", UnionKind.grassroots.label,
     UnionSector.non_public_enterprise.label, "13800138000"),
)


def column_of(header):
    """Return the column a header cell names (Chinese, an alias or English in any case), or None."""
    name = header.strip().lstrip("\ufeff").replace(" ", "")
    name = ALIASES.get(name.lower(), ALIASES.get(name, name))
    return name if name in COLUMNS else None
