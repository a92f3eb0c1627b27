/**
 * A self-signed certificate (127.0.0.1 and localhost, valid until 2126) and its key, for the Electrum
 * fake's ssl:// mode: as a self-hosted server's certificate is, unknown to any CA. Made for loopback
 * tests with openssl and worth nothing anywhere else.
 */
export const fakeTlsKey = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBxgRgYhKMv1Ohr7D
Or+n4F4U4ehvShlpUq6071ucfUChRANCAASJpvCHmgwGFU5cRbEyJv/ynOXRM1kX
r7lTuXvisDGqPDpxB45f6DIGb58r66AGt4zP5SbdsMNZv9twPbGB3CAt
-----END PRIVATE KEY-----
`;

export const fakeTlsCert = `-----BEGIN CERTIFICATE-----
MIIBtDCCAVmgAwIBAgIUbaHSXBIBiovxpAUBojakLgbLyC8wCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVc2F0YmVsbCBmYWtlIGVsZWN0cnVtMCAXDTI2MTIwMTEzNTgw
NFoYDzIxMjYxMTA3MTM1ODA0WjAgMR4wHAYDVQQDDBVzYXRiZWxsIGZha2UgZWxl
Y3RydW0wWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASJpvCHmgwGFU5cRbEyJv/y
nOXRM1kXr7lTuXvisDGqPDpxB45f6DIGb58r66AGt4zP5SbdsMNZv9twPbGB3CAt
o28wbTAdBgNVHQ4EFgQUN9WvpuEQIcaGIG5zHJHyMYROMnEwHwYDVR0jBBgwFoAU
N9WvpuEQIcaGIG5zHJHyMYROMnEwDwYDVR0TAQH/BAUwAwEB/zAaBgNVHREEEzAR
hwR/AAABgglsb2NhbGhvc3QwCgYIKoZIzj0EAwIDSQAwRgIhAIXmAs7scVrvPYtC
q3+ClQ6fzQ07XrX3d32Polt3AN5DAiEArlr/m8z1N6QchYD9zRHfitXb75cg/YbM
MuMIw3DFMG0=
-----END CERTIFICATE-----
`;
