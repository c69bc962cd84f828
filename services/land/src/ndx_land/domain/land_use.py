"""Land-type codes of the cadastral database (Circular 08/2024/TT-BTNMT, land classification of
the Land Law 2024, art. 9, and Decree 102/2024/NĐ-CP, arts. 4-6)."""

from __future__ import annotations

AGRICULTURAL: dict[str, str] = {
    "LUC": "Đất chuyên trồng lúa",
    "LUK": "Đất trồng lúa còn lại",
    "BHK": "Đất bằng trồng cây hằng năm khác",
    "NHK": "Đất nương rẫy trồng cây hằng năm khác",
    "CLN": "Đất trồng cây lâu năm",
    "RDD": "Đất rừng đặc dụng",
    "RPH": "Đất rừng phòng hộ",
    "RSX": "Đất rừng sản xuất",
    "NTS": "Đất nuôi trồng thủy sản",
    "CNT": "Đất chăn nuôi tập trung",
    "LMU": "Đất làm muối",
    "NKH": "Đất nông nghiệp khác",
}

RESIDENTIAL: dict[str, str] = {
    "ONT": "Đất ở tại nông thôn",
    "ODT": "Đất ở tại đô thị",
}

NON_AGRICULTURAL: dict[str, str] = {
    **RESIDENTIAL,
    "TSC": "Đất xây dựng trụ sở cơ quan",
    "CQP": "Đất quốc phòng",
    "CAN": "Đất an ninh",
    "DVH": "Đất xây dựng cơ sở văn hóa",
    "DXH": "Đất xây dựng cơ sở dịch vụ xã hội",
    "DYT": "Đất xây dựng cơ sở y tế",
    "DGD": "Đất xây dựng cơ sở giáo dục và đào tạo",
    "DTT": "Đất xây dựng cơ sở thể dục, thể thao",
    "DKH": "Đất xây dựng cơ sở khoa học và công nghệ",
    "DMT": "Đất xây dựng cơ sở môi trường",
    "DKT": "Đất xây dựng cơ sở khí tượng thủy văn",
    "DNG": "Đất xây dựng cơ sở ngoại giao",
    "DSK": "Đất xây dựng công trình sự nghiệp khác",
    "SKK": "Đất khu công nghiệp",
    "SKN": "Đất cụm công nghiệp",
    "SKC": "Đất cơ sở sản xuất phi nông nghiệp",
    "TMD": "Đất thương mại, dịch vụ",
    "SKS": "Đất sử dụng cho hoạt động khoáng sản",
    "SKX": "Đất sản xuất vật liệu xây dựng, làm đồ gốm",
    "DGT": "Đất công trình giao thông",
    "DTL": "Đất công trình thủy lợi",
    "DNL": "Đất công trình năng lượng, chiếu sáng công cộng",
    "DBV": "Đất công trình bưu chính, viễn thông, công nghệ thông tin",
    "DCH": "Đất chợ dân sinh, chợ đầu mối",
    "DDD": "Đất công trình di tích lịch sử - văn hóa",
    "DDL": "Đất công trình danh lam thắng cảnh",
    "DRA": "Đất công trình xử lý chất thải",
    "DKV": "Đất khu vui chơi, giải trí công cộng, sinh hoạt cộng đồng",
    "DCK": "Đất công trình công cộng khác",
    "TON": "Đất tôn giáo",
    "TIN": "Đất tín ngưỡng",
    "NTD": "Đất nghĩa trang, nhà tang lễ, cơ sở hỏa táng; đất cơ sở lưu giữ tro cốt",
    "SON": "Đất có mặt nước chuyên dùng dạng sông, ngòi, kênh, rạch, suối",
    "MNC": "Đất có mặt nước chuyên dùng dạng ao, hồ, đầm, phá",
    "PNK": "Đất phi nông nghiệp khác",
}

UNUSED: dict[str, str] = {
    "BCS": "Đất bằng chưa sử dụng",
    "DCS": "Đất đồi núi chưa sử dụng",
    "NCS": "Núi đá không có rừng cây",
}

LAND_TYPES: dict[str, str] = {**AGRICULTURAL, **NON_AGRICULTURAL, **UNUSED}


def is_land_type(code: str) -> bool:
    return code in LAND_TYPES
