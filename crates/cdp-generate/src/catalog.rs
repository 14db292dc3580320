//! The brand's fixed world: stores, products, campaigns, live codes. Small
//! static tables keep the output believable without a data file.

use crate::ids::Keys;
use crate::rng::mix64;

pub struct Store {
    pub id: String,
    /// The store system sends `YYYY/MM/DD HH:MM` instead of `YYYY-MM-DD HH:MM:SS`.
    pub slash_dates: bool,
    /// Clerks type the store's own phone for walk-ins who give none.
    pub lazy_clerks: bool,
    pub phone: [u8; 11],
    pub channel_code: String,
}

pub struct Sku {
    pub sku: &'static str,
    pub name: &'static str,
    pub price_fen: i64,
}

/// 50 stores across six cities.
const CITIES: [(&str, usize); 6] = [
    ("SZ", 12),
    ("GZ", 10),
    ("SH", 12),
    ("BJ", 8),
    ("HZ", 4),
    ("CD", 4),
];

pub fn stores(seed: u64, keys: &Keys) -> Vec<Store> {
    let mut out = Vec::new();
    for (city, n) in CITIES {
        for i in 1..=n {
            let idx = out.len();
            let h = mix64(seed ^ mix64(0x5703e ^ idx as u64));
            let id = format!("{city}{i:03}");
            out.push(Store {
                channel_code: format!("store_{id}_qr"),
                id,
                slash_dates: h % 5 == 1,
                // About one store in seven; never zero stores, so every world
                // contains the store-phone trap.
                lazy_clerks: h % 7 == 3 || idx == 2,
                phone: keys.store_phone(idx),
            });
        }
    }
    out
}

pub const SKUS: [Sku; 20] = [
    Sku {
        sku: "SKU-001",
        name: "棉柔巾",
        price_fen: 5990,
    },
    Sku {
        sku: "SKU-002",
        name: "洗面奶",
        price_fen: 8900,
    },
    Sku {
        sku: "SKU-003",
        name: "保湿水",
        price_fen: 15900,
    },
    Sku {
        sku: "SKU-004",
        name: "精华液",
        price_fen: 32900,
    },
    Sku {
        sku: "SKU-005",
        name: "面霜",
        price_fen: 26800,
    },
    Sku {
        sku: "SKU-006",
        name: "防晒乳",
        price_fen: 12900,
    },
    Sku {
        sku: "SKU-007",
        name: "面膜10片",
        price_fen: 9900,
    },
    Sku {
        sku: "SKU-008",
        name: "卸妆油",
        price_fen: 11900,
    },
    Sku {
        sku: "SKU-009",
        name: "身体乳",
        price_fen: 7900,
    },
    Sku {
        sku: "SKU-010",
        name: "洗发水",
        price_fen: 6900,
    },
    Sku {
        sku: "SKU-011",
        name: "护发素",
        price_fen: 6900,
    },
    Sku {
        sku: "SKU-012",
        name: "香氛蜡烛",
        price_fen: 19900,
    },
    Sku {
        sku: "SKU-013",
        name: "旅行套装",
        price_fen: 4990,
    },
    Sku {
        sku: "SKU-014",
        name: "眼霜",
        price_fen: 29900,
    },
    Sku {
        sku: "SKU-015",
        name: "唇膏",
        price_fen: 3900,
    },
    Sku {
        sku: "SKU-016",
        name: "护手霜",
        price_fen: 2900,
    },
    Sku {
        sku: "SKU-017",
        name: "沐浴露",
        price_fen: 5900,
    },
    Sku {
        sku: "SKU-018",
        name: "礼盒",
        price_fen: 59900,
    },
    Sku {
        sku: "SKU-019",
        name: "化妆棉",
        price_fen: 1990,
    },
    Sku {
        sku: "SKU-020",
        name: "补水喷雾",
        price_fen: 8800,
    },
];

/// Live codes (渠道活码) for online acquisition.
pub const ONLINE_CHANNEL_CODES: [&str; 8] = [
    "pkg_card_2026q4",
    "pkg_card_2026q2",
    "live_2026_618",
    "live_2026_1111",
    "kol_xhs_2026_03",
    "moments_ad_2026q3",
    "poster_mall_2026",
    "friend_share",
];

pub const AD_PLATFORMS: [&str; 3] = ["ocean_engine", "tencent_ads", "baidu"];
pub const CAMPAIGNS: u64 = 40;

pub const PAGES: [(&str, &str); 6] = [
    ("/pages/home", "首页"),
    ("/pages/product/detail", "商品详情"),
    ("/pages/cart", "购物车"),
    ("/pages/member/center", "会员中心"),
    ("/pages/coupon/list", "领券中心"),
    ("/pages/live/room", "直播间"),
];

pub const COUPONS: [(&str, i64, i64); 4] = [
    // code, discount fen, minimum subtotal fen
    ("NEW10", 1000, 5000),
    ("NEW20", 2000, 9900),
    ("FULL300-50", 5000, 30000),
    ("VIP15", 1500, 8000),
];

pub const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙",
];
pub const GIVEN: [&str; 12] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "婷", "杰",
];
pub const PINYIN: [&str; 12] = [
    "wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun",
];
pub const EMAIL_DOMAINS: [&str; 5] = ["qq.com", "163.com", "126.com", "gmail.com", "outlook.com"];

pub const UA_MINI: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) MicroMessenger/8.0.47 MiniProgram";
pub const UA_IOS: &str = "BrandApp/5.2.1 (iPhone; iOS 17.4; Scale/3.00)";
pub const UA_ANDROID: &str = "BrandApp/5.2.1 (Linux; Android 13; V2254A)";
pub const UA_H5: &str =
    "Mozilla/5.0 (Linux; Android 12) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36";
