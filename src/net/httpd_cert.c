/*
 * httpd_cert.c - the self-signed certificate an HTTPS test server or the
 * simulator presents (see include/httpd.h). Made in memory with OpenSSL
 * at every start, so two servers never share a key; the private key
 * leaves this file only as PEM text for libwebsockets, and is wiped when
 * released.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "httpd_int.h"
#include "util.h"

static char *
cert_bio_text(BIO *bio)
{
	char	*p;
	long	 len;

	len = BIO_get_mem_data(bio, &p);
	return (xstrndup(p, (size_t)len));
}

int
httpd_cert_generate(struct httpd_cert *hc, char **cause)
{
	EVP_PKEY		*pkey = NULL;
	X509			*x = NULL;
	X509_NAME		*name;
	X509_EXTENSION		*ext;
	X509V3_CTX		 v3;
	BIO			*bio = NULL;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	struct buf		 fp;
	int			 rc = -1;
	static const struct {
		int		 nid;
		const char	*value;
	} exts[] = {
		{ NID_basic_constraints, "critical,CA:TRUE" },
		{ NID_key_usage, "critical,digitalSignature,keyCertSign" },
		{ NID_ext_key_usage, "serverAuth" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost" },
	};

	memset(hc, 0, sizeof *hc);
	pkey = EVP_EC_gen("P-256");
	if (pkey == NULL) {
		set_cause(cause, "cannot generate a TLS key");
		goto out;
	}
	x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x),
	    (long)(random_u64() >> 2) & 0x7fffffffL);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"pvebot test server", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"127.0.0.1", -1, -1, 0);
	X509_set_issuer_name(x, name);
	for (i = 0; i < nitems(exts); i++) {
		X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid,
		    exts[i].value);
		if (ext == NULL) {
			set_cause(cause, "cannot build a certificate extension");
			goto out;
		}
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (X509_sign(x, pkey, EVP_sha256()) == 0) {
		set_cause(cause, "cannot sign the TLS certificate");
		goto out;
	}
	if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1) {
		set_cause(cause, "cannot hash the TLS certificate");
		goto out;
	}
	buf_init(&fp, 0);
	for (i = 0; i < mdlen; i++)
		buf_printf(&fp, "%s%02X", i == 0 ? "" : ":", md[i]);
	hc->fingerprint = buf_steal(&fp);

	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || PEM_write_bio_X509(bio, x) != 1) {
		set_cause(cause, "cannot write the certificate as PEM");
		goto out;
	}
	hc->cert_pem = cert_bio_text(bio);
	BIO_free(bio);
	/* A secure-memory BIO wipes its buffer when freed. */
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL || PEM_write_bio_PrivateKey_traditional(bio, pkey,
	    NULL, NULL, 0, NULL, NULL) != 1) {
		set_cause(cause, "cannot write the TLS key as PEM");
		goto out;
	}
	hc->key_pem = cert_bio_text(bio);
	rc = 0;
out:
	ERR_clear_error();
	BIO_free_all(bio);
	X509_free(x);
	EVP_PKEY_free(pkey);
	if (rc != 0)
		httpd_cert_release(hc);
	return (rc);
}

void
httpd_cert_release(struct httpd_cert *hc)
{
	if (hc->key_pem != NULL) {
		OPENSSL_cleanse(hc->key_pem, strlen(hc->key_pem));
		free(hc->key_pem);
	}
	free(hc->cert_pem);
	free(hc->fingerprint);
	memset(hc, 0, sizeof *hc);
}

int
httpd_cert_check(const char *cert_pem, const char *key_pem, char **cause)
{
	BIO		*bio;
	X509		*x = NULL;
	EVP_PKEY	*pkey = NULL;
	int		 rc = -1;

	if ((bio = BIO_new_mem_buf(cert_pem, -1)) != NULL) {
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if ((bio = BIO_new_mem_buf(key_pem, -1)) != NULL) {
		pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if (x == NULL)
		set_cause(cause, "the TLS certificate is not a PEM "
		    "certificate");
	else if (pkey == NULL)
		set_cause(cause, "the TLS key is not a PEM private key (an "
		    "encrypted key cannot be used)");
	else if (X509_check_private_key(x, pkey) != 1)
		set_cause(cause, "the TLS key is not the certificate's key");
	else
		rc = 0;
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(pkey);
	return (rc);
}
