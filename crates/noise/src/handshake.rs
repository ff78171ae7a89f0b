//! The Noise_IKpsk2 handshake of WireGuard (whitepaper section 5.4.2 - 5.4.5), sans IO.
//!
//! Messages are built and parsed here with their mac1/mac2 fields left to [`crate::cookie`]: the caller checks
//! the macs of an incoming message before spending Diffie-Hellman work on it, and fills them on an outgoing one
//! after this module wrote everything they cover.
//!
//! Every consuming function either succeeds or leaves the peer's state exactly as it was, so an attacker who
//! injects garbage cannot tear down a handshake in progress.

use core::cell::OnceCell;
use core::fmt;
use core::time::Duration;

use wgxdp_wire::wg_layout::{self, initiation, response};
use zeroize::Zeroizing;

use crate::constants::INITIATION_MIN_INTERVAL;
use crate::crypto::{
    aead_open, aead_seal, dh, hash, kdf1, kdf2, kdf3, CryptoError, CONSTRUCTION, HASH_LEN,
    IDENTIFIER, TAG_LEN,
};
use crate::keys::{PresharedKey, PrivateKey, PublicKey, KEY_LEN};
use crate::tai64n::Tai64N;

/// Chaining keys, hashes and derived keys: wiped when dropped.
type Secret = Zeroizing<[u8; HASH_LEN]>;

/// Why a handshake message could not be created or consumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// The type byte or the three reserved bytes are not those of the expected message.
    WrongType,
    /// An encrypted field failed authentication: corrupted message, wrong keys or wrong preshared key.
    Decrypt,
    /// A public key is a low-order point, so a Diffie-Hellman result would be all zero.
    LowOrderKey,
    /// The identified initiation was sent by a different static key than this peer's.
    WrongPeer,
    /// The [`LocalStatic`] passed in is not the one this peer state was created with.
    LocalKeyMismatch,
    /// The initiation's timestamp is not strictly newer than the last accepted one from this peer.
    Replay,
    /// Another initiation from this peer was accepted less than 20 ms earlier.
    Flood,
    /// A response arrived, or one was to be created, with no matching initiation in progress.
    NoHandshakeInProgress,
    /// The response's receiver index is not the sender index of our initiation in progress.
    WrongReceiverIndex,
    /// An internal buffer had the wrong size (a bug, never caused by message contents).
    BufferSize,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WrongType => "message type or reserved bytes do not match",
            Self::Decrypt => "handshake field failed authentication",
            Self::LowOrderKey => "public key is a low-order point",
            Self::WrongPeer => "initiation was sent by a different peer",
            Self::LocalKeyMismatch => {
                "local static key differs from the one this peer was set up with"
            }
            Self::Replay => "initiation timestamp is not newer than the last accepted one",
            Self::Flood => "initiations from this peer arrive faster than allowed",
            Self::NoHandshakeInProgress => "no handshake in progress for this message",
            Self::WrongReceiverIndex => "response is addressed to a different index",
            Self::BufferSize => "internal buffer size mismatch",
        })
    }
}

impl std::error::Error for HandshakeError {}

impl From<CryptoError> for HandshakeError {
    fn from(error: CryptoError) -> Self {
        match error {
            CryptoError::Unauthentic => Self::Decrypt,
            CryptoError::NonContributory => Self::LowOrderKey,
            CryptoError::BufferSize => Self::BufferSize,
        }
    }
}

/// Transport keys and indices produced by a completed handshake, ready for a keypair.
pub struct SessionKeys {
    /// Key for messages we send.
    pub sending: Zeroizing<[u8; 32]>,
    /// Key for messages we receive.
    pub receiving: Zeroizing<[u8; 32]>,
    /// Index the peer puts in the receiver field of messages to us.
    pub local_index: u32,
    /// Index we put in the receiver field of messages to the peer.
    pub remote_index: u32,
    /// Whether we sent the initiation (the initiator is the one that may send first and rekeys by age).
    pub is_initiator: bool,
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKeys")
            .field("local_index", &self.local_index)
            .field("remote_index", &self.remote_index)
            .field("is_initiator", &self.is_initiator)
            .finish_non_exhaustive()
    }
}

/// Our static key pair and the values derived from it once instead of per handshake.
pub struct LocalStatic {
    private: PrivateKey,
    public: PublicKey,
    /// `C0 = HASH(CONSTRUCTION)`: every handshake's first chaining key.
    initial_chaining_key: [u8; HASH_LEN],
    /// `HASH(HASH(C0 || IDENTIFIER) || S_pub)` with our key: the hash every initiation addressed to us starts from.
    responder_hash: [u8; HASH_LEN],
}

impl LocalStatic {
    /// Takes ownership of our static private key.
    pub fn new(private: PrivateKey) -> Self {
        let public = private.public_key();
        Self {
            private,
            public,
            initial_chaining_key: hash(&[CONSTRUCTION]),
            responder_hash: initial_hash(&public),
        }
    }

    /// Our static public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }
}

impl fmt::Debug for LocalStatic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalStatic")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// `H0 = HASH(HASH(HASH(CONSTRUCTION) || IDENTIFIER) || S_pub_responder)`.
fn initial_hash(responder: &PublicKey) -> [u8; HASH_LEN] {
    let protocol_hash = hash(&[&hash(&[CONSTRUCTION]), IDENTIFIER]);
    hash(&[&protocol_hash, responder.as_bytes()])
}

/// An initiation whose sender has been decrypted (responder, step 1), waiting to be matched to a peer.
pub struct IdentifiedInitiation {
    /// The initiator's static public key: what the caller looks its peer up by.
    pub initiator_static: PublicKey,
    /// The initiator's sender index, to be the receiver index of our response.
    pub sender_index: u32,
    remote_ephemeral: PublicKey,
    chaining_key: Secret,
    hash: Secret,
    encrypted_timestamp: [u8; initiation::TIMESTAMP_LEN],
}

impl fmt::Debug for IdentifiedInitiation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentifiedInitiation")
            .field("initiator_static", &self.initiator_static)
            .field("sender_index", &self.sender_index)
            .finish_non_exhaustive()
    }
}

/// Where a peer's handshake stands.
enum State {
    Idle,
    /// We sent an initiation and wait for the response.
    InitiationSent {
        local_index: u32,
        ephemeral: PrivateKey,
        chaining_key: Secret,
        hash: Secret,
    },
    /// We accepted an initiation and are about to respond.
    InitiationConsumed {
        remote_index: u32,
        remote_ephemeral: PublicKey,
        chaining_key: Secret,
        hash: Secret,
    },
}

/// Handshake state for one remote peer.
pub struct PeerHandshake {
    local_public: PublicKey,
    remote: PublicKey,
    /// `HASH(H || S_pub_remote)` start hash for initiations we send to this peer.
    initiator_hash: [u8; HASH_LEN],
    /// `DH(S_priv_local, S_pub_remote)`, computed on first use and kept: a `set` of 100 000 peers would
    /// otherwise spend nearly all its time in X25519 for peers that may never handshake. `None` inside if
    /// the remote key is a low-order point.
    static_static: OnceCell<Option<Secret>>,
    psk: PresharedKey,
    state: State,
    /// Newest initiation timestamp accepted from this peer (replay protection).
    last_timestamp: Option<Tai64N>,
    /// When the last initiation from this peer was accepted (flood guard).
    last_initiation_at: Option<Duration>,
}

impl fmt::Debug for PeerHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Idle => "Idle",
            State::InitiationSent { .. } => "InitiationSent",
            State::InitiationConsumed { .. } => "InitiationConsumed",
        };
        f.debug_struct("PeerHandshake")
            .field("remote", &self.remote)
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

impl PeerHandshake {
    /// State for talking to `remote`, with `psk` (all zero when `None`). A low-order `remote` key is accepted
    /// here but every handshake with it fails with [`HandshakeError::LowOrderKey`].
    pub fn new(local: &LocalStatic, remote: PublicKey, psk: Option<PresharedKey>) -> Self {
        Self {
            local_public: local.public,
            remote,
            initiator_hash: initial_hash(&remote),
            static_static: OnceCell::new(),
            psk: psk.unwrap_or_else(PresharedKey::zero),
            state: State::Idle,
            last_timestamp: None,
            last_initiation_at: None,
        }
    }

    /// The peer's static public key.
    pub fn remote_public(&self) -> &PublicKey {
        &self.remote
    }

    /// Replaces the preshared key; takes effect from the next handshake message processed.
    pub fn set_preshared_key(&mut self, psk: Option<PresharedKey>) {
        self.psk = psk.unwrap_or_else(PresharedKey::zero);
    }

    /// Forgets any in-flight handshake (its secrets are wiped). Replay and flood history are kept: they protect
    /// against old initiations regardless of what we are doing now.
    pub fn clear(&mut self) {
        self.state = State::Idle;
    }

    fn check_local(&self, local: &LocalStatic) -> Result<(), HandshakeError> {
        if self.local_public == local.public {
            Ok(())
        } else {
            Err(HandshakeError::LocalKeyMismatch)
        }
    }

    /// The static-static secret with `local` (already checked to be the key this state was made for).
    fn static_static(&self, local: &LocalStatic) -> Result<&Secret, HandshakeError> {
        self.static_static
            .get_or_init(|| dh(&local.private, &self.remote).ok())
            .as_ref()
            .ok_or(HandshakeError::LowOrderKey)
    }

    /// Initiator: writes a full 148-byte initiation into `out` with mac1 and mac2 left zero for the cookie
    /// module, and remembers the state needed to consume the response. Replaces any handshake in progress.
    pub fn create_initiation(
        &mut self,
        local: &LocalStatic,
        local_index: u32,
        ephemeral: PrivateKey,
        timestamp: Tai64N,
        out: &mut [u8; wg_layout::INITIATION_LEN],
    ) -> Result<(), HandshakeError> {
        self.check_local(local)?;
        let static_static = self.static_static(local)?;
        let ephemeral_public = ephemeral.public_key();

        let chaining_key = kdf1(&local.initial_chaining_key, ephemeral_public.as_bytes());
        let hash_value = hash(&[&self.initiator_hash, ephemeral_public.as_bytes()]);

        let (chaining_key, key) = kdf2(&chaining_key, dh(&ephemeral, &self.remote)?.as_ref());
        let mut encrypted_static = [0u8; initiation::STATIC_LEN];
        aead_seal(
            &key,
            0,
            local.public.as_bytes(),
            &hash_value,
            &mut encrypted_static,
        )?;
        let hash_value = hash(&[&hash_value, &encrypted_static]);

        let (chaining_key, key) = kdf2(&chaining_key, static_static.as_ref());
        let mut encrypted_timestamp = [0u8; initiation::TIMESTAMP_LEN];
        aead_seal(
            &key,
            0,
            timestamp.as_bytes(),
            &hash_value,
            &mut encrypted_timestamp,
        )?;
        let hash_value = hash(&[&hash_value, &encrypted_timestamp]);

        out.fill(0);
        put(
            out,
            wg_layout::TYPE_OFFSET,
            &header(wg_layout::MSG_INITIATION),
        )?;
        put(out, initiation::SENDER, &local_index.to_le_bytes())?;
        put(out, initiation::EPHEMERAL, ephemeral_public.as_bytes())?;
        put(out, initiation::STATIC, &encrypted_static)?;
        put(out, initiation::TIMESTAMP, &encrypted_timestamp)?;

        self.state = State::InitiationSent {
            local_index,
            ephemeral,
            chaining_key,
            hash: Zeroizing::new(hash_value),
        };
        Ok(())
    }

    /// Initiator: consumes a response (macs already checked by the caller) to the initiation in progress and
    /// returns the session keys. On failure the initiation stays in progress.
    pub fn consume_response(
        &mut self,
        local: &LocalStatic,
        msg: &[u8; wg_layout::RESPONSE_LEN],
    ) -> Result<SessionKeys, HandshakeError> {
        self.check_local(local)?;
        check_header(msg, wg_layout::MSG_RESPONSE)?;
        let State::InitiationSent {
            local_index,
            ephemeral,
            chaining_key,
            hash: hash_value,
        } = &self.state
        else {
            return Err(HandshakeError::NoHandshakeInProgress);
        };
        if u32::from_le_bytes(field(msg, response::RECEIVER)?) != *local_index {
            return Err(HandshakeError::WrongReceiverIndex);
        }
        let remote_index = u32::from_le_bytes(field(msg, response::SENDER)?);
        let remote_ephemeral = PublicKey::from_bytes(field(msg, response::EPHEMERAL)?);

        let chaining_key = kdf1(chaining_key, remote_ephemeral.as_bytes());
        let hash_value = hash(&[hash_value.as_ref(), remote_ephemeral.as_bytes()]);
        let chaining_key = kdf1(&chaining_key, dh(ephemeral, &remote_ephemeral)?.as_ref());
        let chaining_key = kdf1(
            &chaining_key,
            dh(&local.private, &remote_ephemeral)?.as_ref(),
        );

        let (chaining_key, tau, key) = kdf3(&chaining_key, self.psk.as_bytes());
        let hash_value = hash(&[&hash_value, tau.as_ref()]);
        let encrypted_empty: [u8; response::EMPTY_LEN] = field(msg, response::EMPTY)?;
        aead_open(&key, 0, &encrypted_empty, &hash_value, &mut [])?;

        let (sending, receiving) = kdf2(&chaining_key, &[]);
        let keys = SessionKeys {
            sending,
            receiving,
            local_index: *local_index,
            remote_index,
            is_initiator: true,
        };
        self.state = State::Idle;
        Ok(keys)
    }

    /// Responder, step 2: checks that `init` came from this peer, decrypts its timestamp, and accepts it only if
    /// the timestamp is strictly newer than the last accepted one and the last accepted initiation is at least
    /// 20 ms (of `now`) old. Replaces any handshake in progress.
    pub fn consume_initiation(
        &mut self,
        local: &LocalStatic,
        init: IdentifiedInitiation,
        now: Duration,
    ) -> Result<(), HandshakeError> {
        self.check_local(local)?;
        if init.initiator_static != self.remote {
            return Err(HandshakeError::WrongPeer);
        }
        let (chaining_key, key) = kdf2(&init.chaining_key, self.static_static(local)?.as_ref());
        let mut timestamp = [0u8; Tai64N::LEN];
        aead_open(
            &key,
            0,
            &init.encrypted_timestamp,
            init.hash.as_ref(),
            &mut timestamp,
        )?;
        let timestamp = Tai64N::from_bytes(timestamp);
        let hash_value = hash(&[init.hash.as_ref(), &init.encrypted_timestamp]);

        if self.last_timestamp.is_some_and(|last| timestamp <= last) {
            return Err(HandshakeError::Replay);
        }
        // A clock reading earlier than the last acceptance (caller bug) counts as no time elapsed: refusing is
        // the safe side.
        if self
            .last_initiation_at
            .is_some_and(|last| now.saturating_sub(last) < INITIATION_MIN_INTERVAL)
        {
            return Err(HandshakeError::Flood);
        }

        self.last_timestamp = Some(timestamp);
        self.last_initiation_at = Some(now);
        self.state = State::InitiationConsumed {
            remote_index: init.sender_index,
            remote_ephemeral: init.remote_ephemeral,
            chaining_key,
            hash: Zeroizing::new(hash_value),
        };
        Ok(())
    }

    /// Responder: writes a full 92-byte response to the consumed initiation into `out` (macs zero) and returns
    /// the session keys. On failure the consumed initiation stays pending.
    pub fn create_response(
        &mut self,
        local: &LocalStatic,
        local_index: u32,
        ephemeral: PrivateKey,
        out: &mut [u8; wg_layout::RESPONSE_LEN],
    ) -> Result<SessionKeys, HandshakeError> {
        self.check_local(local)?;
        let State::InitiationConsumed {
            remote_index,
            remote_ephemeral,
            chaining_key,
            hash: hash_value,
        } = &self.state
        else {
            return Err(HandshakeError::NoHandshakeInProgress);
        };
        let ephemeral_public = ephemeral.public_key();

        let chaining_key = kdf1(chaining_key, ephemeral_public.as_bytes());
        let hash_value = hash(&[hash_value.as_ref(), ephemeral_public.as_bytes()]);
        let chaining_key = kdf1(&chaining_key, dh(&ephemeral, remote_ephemeral)?.as_ref());
        let chaining_key = kdf1(&chaining_key, dh(&ephemeral, &self.remote)?.as_ref());

        let (chaining_key, tau, key) = kdf3(&chaining_key, self.psk.as_bytes());
        let hash_value = hash(&[&hash_value, tau.as_ref()]);
        let mut encrypted_empty = [0u8; TAG_LEN];
        aead_seal(&key, 0, &[], &hash_value, &mut encrypted_empty)?;

        // KDF2's first output is the initiator's sending key, so it is our receiving key.
        let (receiving, sending) = kdf2(&chaining_key, &[]);

        out.fill(0);
        put(
            out,
            wg_layout::TYPE_OFFSET,
            &header(wg_layout::MSG_RESPONSE),
        )?;
        put(out, response::SENDER, &local_index.to_le_bytes())?;
        put(out, response::RECEIVER, &remote_index.to_le_bytes())?;
        put(out, response::EPHEMERAL, ephemeral_public.as_bytes())?;
        put(out, response::EMPTY, &encrypted_empty)?;

        let keys = SessionKeys {
            sending,
            receiving,
            local_index,
            remote_index: *remote_index,
            is_initiator: false,
        };
        self.state = State::Idle;
        Ok(keys)
    }
}

/// Responder, step 1: decrypts the initiator's static key so the caller can find which peer sent `msg` (whose
/// macs it already checked). Costs one Diffie-Hellman; the timestamp is decrypted in step 2 with the peer's
/// precomputed static-static secret.
pub fn identify_initiation(
    local: &LocalStatic,
    msg: &[u8; wg_layout::INITIATION_LEN],
) -> Result<IdentifiedInitiation, HandshakeError> {
    check_header(msg, wg_layout::MSG_INITIATION)?;
    let sender_index = u32::from_le_bytes(field(msg, initiation::SENDER)?);
    let remote_ephemeral = PublicKey::from_bytes(field(msg, initiation::EPHEMERAL)?);

    let chaining_key = kdf1(&local.initial_chaining_key, remote_ephemeral.as_bytes());
    let hash_value = hash(&[&local.responder_hash, remote_ephemeral.as_bytes()]);
    let (chaining_key, key) = kdf2(
        &chaining_key,
        dh(&local.private, &remote_ephemeral)?.as_ref(),
    );

    let encrypted_static: [u8; initiation::STATIC_LEN] = field(msg, initiation::STATIC)?;
    let mut initiator_static = [0u8; KEY_LEN];
    aead_open(
        &key,
        0,
        &encrypted_static,
        &hash_value,
        &mut initiator_static,
    )?;
    let hash_value = hash(&[&hash_value, &encrypted_static]);

    Ok(IdentifiedInitiation {
        initiator_static: PublicKey::from_bytes(initiator_static),
        sender_index,
        remote_ephemeral,
        chaining_key,
        hash: Zeroizing::new(hash_value),
        encrypted_timestamp: field(msg, initiation::TIMESTAMP)?,
    })
}

/// The 4-byte little-endian type word: the type byte followed by three zero reserved bytes.
fn header(message_type: u8) -> [u8; 4] {
    [message_type, 0, 0, 0]
}

/// Accepts `msg` only if its type word is exactly that of `message_type` (reserved bytes included, as the
/// reference implementations read the whole word).
pub(crate) fn check_header(msg: &[u8], message_type: u8) -> Result<(), HandshakeError> {
    if field::<4>(msg, wg_layout::TYPE_OFFSET)? == header(message_type) {
        Ok(())
    } else {
        Err(HandshakeError::WrongType)
    }
}

/// The `N` bytes of `msg` at `at`, or [`HandshakeError::WrongType`] if `msg` is too short.
pub(crate) fn field<const N: usize>(msg: &[u8], at: usize) -> Result<[u8; N], HandshakeError> {
    at.checked_add(N)
        .and_then(|end| msg.get(at..end))
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(HandshakeError::WrongType)
}

/// Copies `bytes` into `out` at `at`; the offsets are layout constants, so failure means a layout bug.
fn put(out: &mut [u8], at: usize, bytes: &[u8]) -> Result<(), HandshakeError> {
    at.checked_add(bytes.len())
        .and_then(|end| out.get_mut(at..end))
        .map(|slot| slot.copy_from_slice(bytes))
        .ok_or(HandshakeError::BufferSize)
}

// A compile-time cross-check that the fields written above tile the messages exactly up to mac1.
const _: () = {
    assert!(initiation::EPHEMERAL + KEY_LEN == initiation::STATIC);
    assert!(initiation::STATIC + initiation::STATIC_LEN == initiation::TIMESTAMP);
    assert!(initiation::TIMESTAMP + initiation::TIMESTAMP_LEN == initiation::MAC1);
    assert!(response::EPHEMERAL + KEY_LEN == response::EMPTY);
    assert!(response::EMPTY + response::EMPTY_LEN == response::MAC1);
    assert!(response::EMPTY_LEN == TAG_LEN);
};
