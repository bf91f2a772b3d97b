// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// A minimal smart-contract wallet: it signs through its owner (ERC-1271). A signature is valid for
/// the wallet when ECDSA recovery over the hash gives the owner's address.
contract Wallet {
    bytes4 internal constant MAGIC_VALUE = 0x1626ba7e;
    bytes4 internal constant INVALID = 0xffffffff;
    // secp256k1n / 2: a higher s is the malleable twin EIP-2 forbids.
    uint256 internal constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (signature.length != 65) return INVALID;
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) return INVALID;
        address signer = ecrecover(hash, v, r, s);
        return signer != address(0) && signer == owner ? MAGIC_VALUE : INVALID;
    }
}

/// Creates a Wallet for its caller and says so: sigauth registers the caller (the owner) and the
/// wallet as two wallets of one user once the event is ETH_CONFIRMATIONS blocks deep.
contract Factory {
    event WalletCreated(address indexed owner, address wallet);

    function create() external returns (address wallet) {
        wallet = address(new Wallet(msg.sender));
        emit WalletCreated(msg.sender, wallet);
    }
}
