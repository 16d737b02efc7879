#include "nat/nft_runner.h"

#include <nftables/libnftables.h>
#include <memory>

namespace wardgate::nat {
namespace {

NftResult run(const std::string& script, unsigned output_flags) {
  const std::unique_ptr<nft_ctx, decltype(&nft_ctx_free)> ctx(nft_ctx_new(NFT_CTX_DEFAULT),
                                                              &nft_ctx_free);
  if (!ctx) return {false, "cannot create an nftables context", ""};
  nft_ctx_output_set_flags(ctx.get(), output_flags);
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  const int rc = nft_run_cmd_from_buffer(ctx.get(), script.c_str());
  NftResult result;
  result.ok = rc == 0;
  if (!result.ok) {
    const char* err = nft_ctx_get_error_buffer(ctx.get());
    result.error = err != nullptr && *err != '\0' ? err : "nftables rejected the ruleset";
    while (!result.error.empty() && result.error.back() == '\n') result.error.pop_back();
  }
  if (const char* out = nft_ctx_get_output_buffer(ctx.get()); out != nullptr) result.output = out;
  return result;
}

}  // namespace

NftResult run_nft_script(const std::string& script) { return run(script, 0); }

NftResult run_nft_json(const std::string& script) { return run(script, NFT_CTX_OUTPUT_JSON); }

}  // namespace wardgate::nat
