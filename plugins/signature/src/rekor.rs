//! Rekor transparency-log entries: the signed entry timestamp (SET), the RFC 6962/9162
//! Merkle inclusion proof, and the signed checkpoint (a signed note) the proof ends in.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::encoding::{b64_any, hex, rfc3339, to_b64};
use crate::keys::{PublicKey, key_id};

/// A configured Rekor public key.
#[derive(Debug, Clone)]
pub struct RekorKey {
    pub name: String,
    pub key: PublicKey,
    /// SHA-256 of its SubjectPublicKeyInfo: the log ID.
    pub id: Vec<u8>,
}

impl RekorKey {
    pub fn new(name: &str, key: PublicKey) -> Self {
        RekorKey {
            name: name.to_string(),
            id: key_id(&key),
            key,
        }
    }
}

/// An inclusion proof.
#[derive(Debug, Clone)]
pub struct Proof {
    pub log_index: u64,
    pub tree_size: u64,
    pub root_hash: Vec<u8>,
    pub hashes: Vec<Vec<u8>>,
    pub checkpoint: String,
}

/// One log entry, as a bundle or cosign's bundle annotation carries it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub log_index: i64,
    pub log_id: Vec<u8>,
    pub integrated_time: i64,
    /// The canonicalized entry body (JSON).
    pub body: Vec<u8>,
    pub set: Option<Vec<u8>>,
    pub proof: Option<Proof>,
    /// `kind`/`version` as the bundle states them (the body says it too).
    pub kind: String,
}

/// What verifying one entry established.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The Rekor key that vouched for the entry.
    pub key: Option<String>,
    /// The time the log recorded, when a verified SET covers it.
    pub integrated_time: Option<i64>,
    /// What was checked, for people.
    pub checked: Vec<String>,
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Parse a Sigstore bundle `tlogEntries[i]` (protobuf JSON: int64 as strings, bytes as
/// base64, zero values omitted).
pub fn parse_bundle_entry(v: &Value, path: &str) -> Result<Entry, (String, String)> {
    let err = |p: &str, m: &str| (format!("{path}/{p}"), m.to_string());
    let body = v["canonicalizedBody"]
        .as_str()
        .ok_or_else(|| err("canonicalizedBody", "is required"))
        .and_then(|s| b64_any(s).map_err(|e| err("canonicalizedBody", &e)))?;
    let log_id = v["logId"]["keyId"]
        .as_str()
        .ok_or_else(|| err("logId/keyId", "is required"))
        .and_then(|s| b64_any(s).map_err(|e| err("logId/keyId", &e)))?;
    let log_index = int(&v["logIndex"]).ok_or_else(|| err("logIndex", "must be an integer"))?;
    let integrated_time = if v["integratedTime"].is_null() {
        0
    } else {
        int(&v["integratedTime"]).ok_or_else(|| err("integratedTime", "must be an integer"))?
    };
    let kind = format!(
        "{}/{}",
        v["kindVersion"]["kind"].as_str().unwrap_or(""),
        v["kindVersion"]["version"].as_str().unwrap_or("")
    );
    let set = match v["inclusionPromise"]["signedEntryTimestamp"].as_str() {
        Some(s) => Some(b64_any(s).map_err(|e| err("inclusionPromise/signedEntryTimestamp", &e))?),
        None => None,
    };
    let proof = if v["inclusionProof"].is_object() {
        let p = &v["inclusionProof"];
        let pp = "inclusionProof";
        let root_hash = p["rootHash"]
            .as_str()
            .ok_or_else(|| err(&format!("{pp}/rootHash"), "is required"))
            .and_then(|s| b64_any(s).map_err(|e| err(&format!("{pp}/rootHash"), &e)))?;
        let mut hashes = Vec::new();
        for (i, h) in p["hashes"].as_array().into_iter().flatten().enumerate() {
            let h = h
                .as_str()
                .ok_or_else(|| err(&format!("{pp}/hashes/{i}"), "must be a string"))?;
            hashes.push(b64_any(h).map_err(|e| err(&format!("{pp}/hashes/{i}"), &e))?);
        }
        let checkpoint = p["checkpoint"]["envelope"]
            .as_str()
            .ok_or_else(|| err(&format!("{pp}/checkpoint/envelope"), "is required"))?
            .to_string();
        Some(Proof {
            log_index: if p["logIndex"].is_null() {
                0
            } else {
                int(&p["logIndex"])
                    .and_then(|i| u64::try_from(i).ok())
                    .ok_or_else(|| err(&format!("{pp}/logIndex"), "must be an integer"))?
            },
            tree_size: int(&p["treeSize"])
                .and_then(|i| u64::try_from(i).ok())
                .ok_or_else(|| err(&format!("{pp}/treeSize"), "must be an integer"))?,
            root_hash,
            hashes,
            checkpoint,
        })
    } else {
        None
    };
    if set.is_none() && proof.is_none() {
        return Err(err(
            "",
            "a transparency-log entry needs an inclusion promise (SET) or an inclusion proof",
        ));
    }
    Ok(Entry {
        log_index,
        log_id,
        integrated_time,
        body,
        set,
        proof,
        kind,
    })
}

/// Parse cosign's `dev.sigstore.cosign/bundle` annotation (`{SignedEntryTimestamp,
/// Payload: {body, integratedTime, logIndex, logID}}`).
pub fn parse_cosign_bundle(text: &str) -> Result<Entry, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("the bundle is not JSON: {e}"))?;
    let set = v["SignedEntryTimestamp"]
        .as_str()
        .ok_or_else(|| "SignedEntryTimestamp is required".to_string())
        .and_then(|s| b64_any(s).map_err(|e| format!("SignedEntryTimestamp: {e}")))?;
    let p = &v["Payload"];
    let body = p["body"]
        .as_str()
        .ok_or_else(|| "Payload.body is required".to_string())
        .and_then(|s| b64_any(s).map_err(|e| format!("Payload.body: {e}")))?;
    let log_id = p["logID"]
        .as_str()
        .ok_or_else(|| "Payload.logID is required".to_string())
        .and_then(|s| crate::encoding::unhex(s).map_err(|e| format!("Payload.logID: {e}")))?;
    let log_index = p["logIndex"]
        .as_i64()
        .ok_or_else(|| "Payload.logIndex must be an integer".to_string())?;
    let integrated_time = p["integratedTime"]
        .as_i64()
        .ok_or_else(|| "Payload.integratedTime must be an integer".to_string())?;
    let kind = serde_json::from_slice::<Value>(&body)
        .map(|b| {
            format!(
                "{}/{}",
                b["kind"].as_str().unwrap_or(""),
                b["apiVersion"].as_str().unwrap_or("")
            )
        })
        .unwrap_or_default();
    Ok(Entry {
        log_index,
        log_id,
        integrated_time,
        body,
        set: Some(set),
        proof: None,
        kind,
    })
}

/// Verify an entry against the configured Rekor keys: the SET (when present) and the
/// inclusion proof with its signed checkpoint (when present). Every piece present must
/// verify; at least one must.
pub fn verify(entry: &Entry, keys: &[RekorKey]) -> Result<Outcome, String> {
    if keys.is_empty() {
        return Err(
            "no Rekor key is configured, so the transparency-log entry cannot be checked".into(),
        );
    }
    let key = keys.iter().find(|k| k.id == entry.log_id).ok_or_else(|| {
        format!(
            "the entry is from log {}, which is none of the configured Rekor keys",
            hex(&entry.log_id)
        )
    })?;
    let mut out = Outcome {
        key: Some(key.name.clone()),
        ..Outcome::default()
    };
    if let Some(set) = &entry.set {
        // The canonical (RFC 8785) JSON Rekor signs: sorted keys, no spaces. Base64 and hex
        // need no escaping.
        let bytes = format!(
            r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
            to_b64(&entry.body),
            entry.integrated_time,
            hex(&entry.log_id),
            entry.log_index
        )
        .into_bytes();
        key.key
            .verify(key.key.sigstore_scheme(), &bytes, set)
            .map_err(|e| {
                format!(
                    "the signed entry timestamp does not verify with Rekor key {:?}: {e}",
                    key.name
                )
            })?;
        out.integrated_time = Some(entry.integrated_time);
        out.checked.push(format!(
            "signed entry timestamp verified with Rekor key {:?} (log index {}, integrated at {})",
            key.name,
            entry.log_index,
            rfc3339(entry.integrated_time)
        ));
    }
    if let Some(proof) = &entry.proof {
        let leaf = leaf_hash(&entry.body);
        let root =
            root_from_inclusion_proof(proof.log_index, proof.tree_size, &leaf, &proof.hashes)?;
        if root != proof.root_hash {
            return Err("the inclusion proof does not lead to the stated root hash".into());
        }
        verify_checkpoint(&proof.checkpoint, proof, key)?;
        out.checked.push(format!(
            "inclusion proof verified (index {} of a tree of {}) against a checkpoint signed by Rekor key {:?}",
            proof.log_index, proof.tree_size, key.name
        ));
    }
    Ok(out)
}

fn leaf_hash(body: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(body);
    h.finalize().to_vec()
}

fn node_hash(left: &[u8], right: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().to_vec()
}

/// RFC 9162 §2.1.3.2: the root a leaf at `index` and its audit path lead to.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &[u8],
    proof: &[Vec<u8>],
) -> Result<Vec<u8>, String> {
    if index >= size {
        return Err(format!(
            "inclusion proof index {index} is outside a tree of {size}"
        ));
    }
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    if proof.len() != inner + border {
        return Err(format!(
            "inclusion proof has {} hashes, {} expected for index {index} in a tree of {size}",
            proof.len(),
            inner + border
        ));
    }
    if proof.iter().any(|h| h.len() != 32) {
        return Err("inclusion proof hashes must be 32 bytes".into());
    }
    let mut seed = leaf.to_vec();
    for (i, h) in proof[..inner].iter().enumerate() {
        seed = if (index >> i) & 1 == 0 {
            node_hash(&seed, h)
        } else {
            node_hash(h, &seed)
        };
    }
    for h in &proof[inner..] {
        seed = node_hash(h, &seed);
    }
    Ok(seed)
}

/// A checkpoint is a signed note: `origin\nsize\nbase64(root)\n[extensions\n]` then a
/// blank line and signature lines `— name base64(keyhint[4] ‖ signature)`.
fn verify_checkpoint(checkpoint: &str, proof: &Proof, key: &RekorKey) -> Result<(), String> {
    let (text, sigs) = checkpoint
        .split_once("\n\n")
        .ok_or("the checkpoint has no signature block")?;
    let text = format!("{text}\n");
    let mut lines = text.lines();
    let _origin = lines.next().ok_or("empty checkpoint")?;
    let size: u64 = lines
        .next()
        .and_then(|l| l.parse().ok())
        .ok_or("the checkpoint has no tree size")?;
    let root = lines
        .next()
        .ok_or("the checkpoint has no root hash")
        .and_then(|l| {
            crate::encoding::b64(l).map_err(|_| "the checkpoint root hash is not base64")
        })?;
    if size != proof.tree_size || root != proof.root_hash {
        return Err("the checkpoint names another tree than the inclusion proof".into());
    }
    for line in sigs.lines() {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            continue;
        };
        let Some((_name, sig)) = rest.rsplit_once(' ') else {
            continue;
        };
        let Ok(raw) = crate::encoding::b64(sig) else {
            continue;
        };
        if raw.len() < 5 || raw[..4] != key.id[..4] {
            continue;
        }
        return key
            .key
            .verify(key.key.sigstore_scheme(), text.as_bytes(), &raw[4..])
            .map_err(|e| {
                format!(
                    "the checkpoint signature does not verify with Rekor key {:?}: {e}",
                    key.name
                )
            });
    }
    Err(format!(
        "the checkpoint carries no signature by Rekor key {:?}",
        key.name
    ))
}

/// What an entry body must record for it to be about the signature at hand.
#[derive(Debug, Clone, Copy)]
pub enum Signed<'a> {
    /// A signature over bytes whose SHA-256 is `sha256` (hashedrekord).
    Message {
        sha256: &'a [u8],
        signature: &'a [u8],
    },
    /// A DSSE envelope (dsse or intoto entries).
    Dsse {
        payload_type: &'a str,
        payload: &'a [u8],
        signature: &'a [u8],
    },
}

fn pem_der(b64_pem: &str) -> Option<Vec<u8>> {
    let text = String::from_utf8(crate::encoding::b64(b64_pem).ok()?).ok()?;
    crate::encoding::pem_blocks(&text)
        .ok()?
        .into_iter()
        .next()
        .map(|(_, der)| der)
}

/// Check that the entry's body records this signature by this signer (`signer`: the DER
/// of the signing certificate, or of the public key's SubjectPublicKeyInfo). Returns the
/// entry kind.
pub fn check_body(entry: &Entry, signed: Signed<'_>, signer: &[u8]) -> Result<String, String> {
    let body: Value = serde_json::from_slice(&entry.body)
        .map_err(|e| format!("the log entry body is not JSON: {e}"))?;
    let kind = format!(
        "{}/{}",
        body["kind"].as_str().unwrap_or(""),
        body["apiVersion"].as_str().unwrap_or("")
    );
    let spec = &body["spec"];
    let signer_ok = |v: &Value| v.as_str().and_then(pem_der).is_some_and(|d| d == signer);
    let sig_ok = |v: &Value, want: &[u8]| {
        v.as_str()
            .and_then(|s| crate::encoding::b64(s).ok())
            .is_some_and(|s| s == want)
    };
    let ok = match (kind.as_str(), signed) {
        ("hashedrekord/0.0.1", Signed::Message { sha256, signature }) => {
            spec["data"]["hash"]["algorithm"] == "sha256"
                && spec["data"]["hash"]["value"].as_str() == Some(hex(sha256).as_str())
                && sig_ok(&spec["signature"]["content"], signature)
                && signer_ok(&spec["signature"]["publicKey"]["content"])
        }
        (
            "dsse/0.0.1",
            Signed::Dsse {
                payload_type,
                payload,
                signature,
            },
        ) => {
            if let Some(env) = spec["proposedContent"]["envelope"].as_str() {
                // As submitted (what Rekor's mock logs).
                let env: Value = serde_json::from_str(env).unwrap_or(Value::Null);
                env["payloadType"] == payload_type
                    && env["payload"]
                        .as_str()
                        .and_then(|p| crate::encoding::b64(p).ok())
                        .is_some_and(|p| p == payload)
                    && env["signatures"]
                        .as_array()
                        .is_some_and(|s| s.iter().any(|s| sig_ok(&s["sig"], signature)))
                    && spec["proposedContent"]["verifiers"]
                        .as_array()
                        .is_some_and(|v| v.iter().any(signer_ok))
            } else {
                // As Rekor canonicalizes it.
                spec["payloadHash"]["algorithm"] == "sha256"
                    && spec["payloadHash"]["value"].as_str()
                        == Some(hex(&Sha256::digest(payload)).as_str())
                    && spec["signatures"].as_array().is_some_and(|s| {
                        s.iter().any(|s| {
                            sig_ok(&s["signature"], signature) && signer_ok(&s["verifier"])
                        })
                    })
            }
        }
        (
            "intoto/0.0.2",
            Signed::Dsse {
                payload_type,
                payload,
                signature,
            },
        ) => {
            // Payload and signatures are base64 twice over.
            let twice = |v: &Value| {
                v.as_str()
                    .and_then(|s| crate::encoding::b64(s).ok())
                    .and_then(|s| String::from_utf8(s).ok())
                    .and_then(|s| crate::encoding::b64(&s).ok())
            };
            let c = &spec["content"];
            c["payloadHash"]["value"].as_str() == Some(hex(&Sha256::digest(payload)).as_str())
                && c["envelope"]["payloadType"] == payload_type
                && twice(&c["envelope"]["payload"]).is_some_and(|p| p == payload)
                && c["envelope"]["signatures"].as_array().is_some_and(|s| {
                    s.iter().any(|s| {
                        twice(&s["sig"]).is_some_and(|x| x == signature)
                            && signer_ok(&s["publicKey"])
                    })
                })
        }
        (other, _) => {
            return Err(format!(
                "the log entry is of kind {other:?}, which does not record this kind of signature"
            ));
        }
    };
    if ok {
        Ok(kind)
    } else {
        Err(format!(
            "the log entry ({kind}) records another signature, artifact or signer than this one"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> Vec<u8> {
        leaf_hash(&[n])
    }

    /// The RFC 6962 tree hash of leaves, computed the obvious recursive way.
    fn mth(leaves: &[Vec<u8>]) -> Vec<u8> {
        if leaves.len() == 1 {
            return leaves[0].clone();
        }
        let k = leaves.len().next_power_of_two() / 2;
        node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
    }

    fn path(m: usize, leaves: &[Vec<u8>]) -> Vec<Vec<u8>> {
        if leaves.len() == 1 {
            return vec![];
        }
        let k = leaves.len().next_power_of_two() / 2;
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    #[test]
    fn inclusion_proofs_reproduce_the_tree_hash_for_every_leaf_of_every_size() {
        for size in 1..=20usize {
            let leaves: Vec<Vec<u8>> = (0..size as u8).map(h).collect();
            let root = mth(&leaves);
            for m in 0..size {
                let got =
                    root_from_inclusion_proof(m as u64, size as u64, &leaves[m], &path(m, &leaves))
                        .unwrap();
                assert_eq!(got, root, "leaf {m} of {size}");
                // A wrong leaf leads elsewhere.
                let other =
                    root_from_inclusion_proof(m as u64, size as u64, &h(200), &path(m, &leaves))
                        .unwrap();
                assert_ne!(other, root);
            }
        }
        assert!(root_from_inclusion_proof(3, 3, &h(0), &[]).is_err());
        assert!(root_from_inclusion_proof(0, 4, &h(0), &[]).is_err());
    }
}
