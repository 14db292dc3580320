//! Ground truth. While a person's lines are built, every identifier written
//! into an accepted line sets a bit ("slot") in the person's mask; the truth
//! rows are then exactly the canonical identifiers the pipeline can extract
//! from that person's accepted lines, derived hashes included. Junk values and
//! malformed lines never set a bit, so they never reach the truth.

use std::io::Write;

use crate::ids::{Device, Phone, MAX_PHONES};

pub mod slot {
    pub const ANON: u64 = 1 << 0;
    pub const OPENID: u64 = 1 << 1;
    pub const UNIONID: u64 = 1 << 2;
    pub const MEMBER_ID: u64 = 1 << 3;
    pub const WECOM: u64 = 1 << 4;
    pub const EMAIL: u64 = 1 << 5;
    /// The person's own phone or the household tablet: see `DeviceSlots`.
    pub const OWN_DEVICE_SHIFT: u32 = 6;
    pub const TABLET_SHIFT: u32 = 13;
    pub const TABLET_ANON: u64 = 1 << 20;
    const PHONE_BASE: u32 = 24;

    /// A raw phone: the pipeline derives both hashes from it.
    pub const fn phone(k: usize) -> u64 {
        phone_md5(k) | phone_sha256(k) | 1 << (PHONE_BASE + k as u32)
    }
    pub const fn phone_only(k: usize) -> u64 {
        1 << (PHONE_BASE + k as u32)
    }
    pub const fn phone_md5(k: usize) -> u64 {
        1 << (PHONE_BASE + 4 + k as u32)
    }
    pub const fn phone_sha256(k: usize) -> u64 {
        1 << (PHONE_BASE + 8 + k as u32)
    }
}

/// Bit offsets of one device's identifiers, relative to its shift.
pub mod dev {
    pub const IDFA: u64 = 1 << 0;
    pub const IDFA_MD5: u64 = 1 << 1;
    pub const OAID: u64 = 1 << 2;
    pub const OAID_MD5: u64 = 1 << 3;
    pub const ANDROID_ID: u64 = 1 << 4;
    pub const IMEI_MD5: u64 = 1 << 5;
    /// A raw IDFA / OAID also yields its md5.
    pub const RAW_IDFA: u64 = IDFA | IDFA_MD5;
    pub const RAW_OAID: u64 = OAID | OAID_MD5;
}

/// The identifier values a mask refers to.
pub struct Owned<'a> {
    pub anon: &'a str,
    pub openid: &'a str,
    pub unionid: &'a str,
    pub member_id: &'a str,
    pub wecom: &'a str,
    pub email: &'a str,
    pub phones: &'a [Phone],
    pub device: &'a Device,
    pub tablet: Option<(&'a str, &'a Device)>,
}

pub fn person_label(out: &mut Vec<u8>, pid: u64) {
    out.push(b'P');
    crate::json::push_uint_padded(out, pid, 8);
}

fn row(out: &mut Vec<u8>, pid: u64, id_type: &str, value: &str, rows: &mut u64) {
    person_label(out, pid);
    out.push(b',');
    out.extend_from_slice(id_type.as_bytes());
    out.push(b',');
    out.extend_from_slice(value.as_bytes());
    out.push(b'\n');
    *rows += 1;
}

fn device_rows(out: &mut Vec<u8>, pid: u64, bits: u64, d: &Device, rows: &mut u64) {
    let mut one = |bit: u64, t: &str, v: &Option<String>| {
        if bits & bit != 0 {
            if let Some(v) = v {
                row(out, pid, t, v, rows);
            }
        }
    };
    one(dev::IDFA, "idfa", &d.idfa);
    one(dev::IDFA_MD5, "idfa_md5", &d.idfa_md5);
    one(dev::OAID, "oaid", &d.oaid);
    one(dev::OAID_MD5, "oaid_md5", &d.oaid_md5);
    one(dev::ANDROID_ID, "android_id", &d.android_id);
    one(dev::IMEI_MD5, "imei_md5", &d.imei_md5);
}

/// Appends `person_id,id_type,id_value` rows for every bit of `mask`; returns
/// how many.
pub fn write_identifiers(out: &mut Vec<u8>, pid: u64, mask: u64, ids: &Owned<'_>) -> u64 {
    let mut rows = 0;
    let simple = [
        (slot::ANON, "anonymous_id", ids.anon),
        (slot::OPENID, "openid", ids.openid),
        (slot::UNIONID, "unionid", ids.unionid),
        (slot::MEMBER_ID, "member_id", ids.member_id),
        (slot::WECOM, "wecom_external_userid", ids.wecom),
        (slot::EMAIL, "email", ids.email),
    ];
    for (bit, t, v) in simple {
        if mask & bit != 0 {
            row(out, pid, t, v, &mut rows);
        }
    }
    for (k, p) in ids.phones.iter().enumerate().take(MAX_PHONES) {
        if mask & slot::phone_only(k) != 0 {
            let mut e164 = String::with_capacity(14);
            e164.push_str("+86");
            e164.push_str(p.as_str());
            row(out, pid, "phone", &e164, &mut rows);
        }
        if mask & slot::phone_md5(k) != 0 {
            row(out, pid, "phone_md5", &p.md5, &mut rows);
        }
        if mask & slot::phone_sha256(k) != 0 {
            row(out, pid, "phone_sha256", &p.sha256, &mut rows);
        }
    }
    device_rows(
        out,
        pid,
        (mask >> slot::OWN_DEVICE_SHIFT) & 0x3f,
        ids.device,
        &mut rows,
    );
    if let Some((anon, d)) = ids.tablet {
        if mask & slot::TABLET_ANON != 0 {
            row(out, pid, "anonymous_id", anon, &mut rows);
        }
        device_rows(out, pid, (mask >> slot::TABLET_SHIFT) & 0x3f, d, &mut rows);
    }
    rows
}

/// Rows of `truth/shared_identifiers.csv` for one shared device or phone.
pub fn write_shared_device(out: &mut Vec<u8>, anon: &str, d: &Device, reason: &str) {
    let mut one = |t: &str, v: &str| {
        let _ = writeln!(out, "{t},{v},{reason}");
    };
    one("anonymous_id", anon);
    for (t, v) in [
        ("idfa", &d.idfa),
        ("idfa_md5", &d.idfa_md5),
        ("oaid", &d.oaid),
        ("oaid_md5", &d.oaid_md5),
        ("android_id", &d.android_id),
    ] {
        if let Some(v) = v {
            one(t, v);
        }
    }
}

pub fn write_shared_phone(out: &mut Vec<u8>, p: &Phone, reason: &str) {
    let _ = writeln!(out, "phone,+86{},{reason}", p.as_str());
    let _ = writeln!(out, "phone_md5,{},{reason}", p.md5);
    let _ = writeln!(out, "phone_sha256,{},{reason}", p.sha256);
}

/// A person's orders as the pipeline should count them (contract §6).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Revenue {
    pub net_fen: i64,
    pub orders_paid: u32,
    pub orders_refunded: u32,
    /// Any accepted transaction line, cancelled ones included.
    pub has_transactions: bool,
}

pub fn write_revenue(out: &mut Vec<u8>, pid: u64, r: &Revenue) {
    person_label(out, pid);
    let _ = writeln!(
        out,
        ",{},{},{}",
        r.net_fen, r.orders_paid, r.orders_refunded
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Keys, Kind, Os};

    #[test]
    fn raw_phone_yields_three_rows_and_hash_only_one() {
        let keys = Keys::new(1);
        let phones = vec![Phone::new(*b"13912345678"), Phone::new(*b"15912345678")];
        let device = Device::new(&keys, Os::Ios, Kind::Device, 9, false);
        let ids = Owned {
            anon: "a1",
            openid: "o1",
            unionid: "u1",
            member_id: "M1",
            wecom: "wm1",
            email: "x@y.z",
            phones: &phones,
            device: &device,
            tablet: None,
        };
        let mask = slot::ANON
            | slot::phone(0)
            | slot::phone_md5(1)
            | (dev::RAW_IDFA << slot::OWN_DEVICE_SHIFT);
        let mut out = Vec::new();
        let n = write_identifiers(&mut out, 3, mask, &ids);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(n, 7, "{text}");
        assert!(text.contains("P00000003,phone,+8613912345678\n"));
        assert!(text.contains(&format!("P00000003,phone_md5,{}\n", phones[1].md5)));
        assert!(!text.contains(&phones[1].sha256));
        assert!(!text.contains("15912345678"));
        assert!(text.contains(&format!("idfa,{}", device.idfa.as_ref().unwrap())));
        assert!(!text.contains("openid"));
    }

    #[test]
    fn slots_do_not_overlap() {
        let mut all =
            slot::ANON | slot::OPENID | slot::UNIONID | slot::MEMBER_ID | slot::WECOM | slot::EMAIL;
        for shift in [slot::OWN_DEVICE_SHIFT, slot::TABLET_SHIFT] {
            let d = 0x3f << shift;
            assert_eq!(all & d, 0);
            all |= d;
        }
        assert_eq!(all & slot::TABLET_ANON, 0);
        all |= slot::TABLET_ANON;
        for k in 0..MAX_PHONES {
            assert_eq!(all & slot::phone(k), 0);
            all |= slot::phone(k);
        }
        assert_eq!(all.count_ones(), 6 + 12 + 1 + 12);
    }
}
