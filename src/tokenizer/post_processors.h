#pragma once
// Hugging Face post-processors, reduced to what they do to the ids of a single sequence: add the
// special tokens of a template when the caller asks for special tokens.
#include <cstdint>
#include <memory>
#include <vector>

namespace ratkv {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void process(std::vector<int32_t>& ids, bool add_special) const = 0;
  // The special ids placed before and after the sequence (what BOS and EOS are inferred from).
  virtual std::vector<int32_t> ids_before_sequence() const = 0;
  virtual std::vector<int32_t> ids_after_sequence() const = 0;
};

// The single-sequence template of TemplateProcessing, already resolved to ids.
class TemplatePostProcessor final : public PostProcessor {
 public:
  TemplatePostProcessor(std::vector<int32_t> before, std::vector<int32_t> after)
      : before_(std::move(before)), after_(std::move(after)) {}
  void process(std::vector<int32_t>& ids, bool add_special) const override;
  std::vector<int32_t> ids_before_sequence() const override { return before_; }
  std::vector<int32_t> ids_after_sequence() const override { return after_; }

 private:
  std::vector<int32_t> before_;
  std::vector<int32_t> after_;
};

class SequencePostProcessor final : public PostProcessor {
 public:
  explicit SequencePostProcessor(std::vector<std::unique_ptr<PostProcessor>> steps)
      : steps_(std::move(steps)) {}
  void process(std::vector<int32_t>& ids, bool add_special) const override;
  std::vector<int32_t> ids_before_sequence() const override;
  std::vector<int32_t> ids_after_sequence() const override;

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

// ByteLevel as a post-processor only trims offsets; ids pass through unchanged.
class IdentityPostProcessor final : public PostProcessor {
 public:
  void process(std::vector<int32_t>&, bool) const override {}
  std::vector<int32_t> ids_before_sequence() const override { return {}; }
  std::vector<int32_t> ids_after_sequence() const override { return {}; }
};

}  // namespace ratkv
