#include "proxy/quota/redis_reply.hpp"

#include <hiredis/hiredis.h>

#include <new>

namespace modelgate::quota {

namespace {

redis_reply convert(const redisReply* r) {
  redis_reply out;
  switch (r->type) {
    case REDIS_REPLY_NIL: out.type = redis_reply::kind::nil; break;
    case REDIS_REPLY_INTEGER:
      out.type = redis_reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.type = r->type == REDIS_REPLY_STRING   ? redis_reply::kind::string
                 : r->type == REDIS_REPLY_STATUS ? redis_reply::kind::status
                                                 : redis_reply::kind::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = redis_reply::kind::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default: out.type = redis_reply::kind::other; break;
  }
  return out;
}

}  // namespace

void encode_command(std::span<const std::string_view> args, std::string& out) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (auto a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out += a;
    out += "\r\n";
  }
}

void resp_reader::deleter::operator()(redisReader* r) const noexcept { redisReaderFree(r); }

resp_reader::resp_reader() : reader_(redisReaderCreate()) {
  if (!reader_) throw std::bad_alloc();
}

resp_reader::~resp_reader() = default;

bool resp_reader::feed(std::string_view bytes) {
  return redisReaderFeed(reader_.get(), bytes.data(), bytes.size()) == REDIS_OK;
}

std::optional<redis_reply> resp_reader::next(bool& failed) {
  void* raw = nullptr;
  failed = false;
  if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
    failed = true;
    return std::nullopt;
  }
  if (raw == nullptr) return std::nullopt;
  auto* r = static_cast<redisReply*>(raw);
  auto out = convert(r);
  freeReplyObject(r);
  return out;
}

void resp_reader::reset() { reader_.reset(redisReaderCreate()); if (!reader_) throw std::bad_alloc(); }

}  // namespace modelgate::quota
