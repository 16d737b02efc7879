#include "proxy/proxy_server.h"

#include <spdlog/spdlog.h>
#include <optional>
#include <unordered_set>

#include "common/limit_episode.h"
#include "proxy/buffer_pool.h"
#include "proxy/proxy_session.h"
#include "proxy/transparent_socket.h"

namespace wardgate::proxy {
namespace {

// Free chunk buffers a worker keeps for reuse; beyond this, buffers go back to the allocator.
constexpr std::size_t kPooledChunksPerWorker = 64;
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

bool out_of_resources(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec.value() == ENFILE ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

SessionInfo session_info(std::uint64_t id, const ProxyOptions::Service& service,
                         const tcp::endpoint& client, const UpstreamRoute& route) {
  SessionInfo info;
  info.id = id;
  info.service = service.name;
  info.protocol = service.protocol;
  info.device_side = route.device_side;
  info.client_addr.s_addr = htonl(client.address().to_v4().to_uint());
  info.client_port = client.port();
  info.server_addr.s_addr = htonl(route.connect_to.address().to_v4().to_uint());
  info.server_port = route.connect_to.port();
  info.upstream_source.s_addr = htonl(route.bind_from.to_uint());
  return info;
}

common::Family<common::Counter>& refused_family(common::MetricsRegistry& metrics) {
  return metrics.counter_family("wardgate_proxy_connections_refused_total",
                                "Device connections reset before relaying, by reason.", {"reason"});
}

common::Family<common::Counter>& closed_family(common::MetricsRegistry& metrics) {
  return metrics.counter_family(
      "wardgate_proxy_sessions_closed_total",
      "Sessions wardgate closed for a message deadline or the held-bytes budget, by reason.",
      {"reason"});
}

common::Family<common::Counter>& relayed_family(common::MetricsRegistry& metrics) {
  return metrics.counter_family("wardgate_proxy_relayed_bytes_total",
                                "Bytes relayed by ended sessions, by direction.", {"direction"});
}

void refuse(tcp::socket& socket) {
  set_reset_on_close(socket.native_handle());
  boost::system::error_code ignored;
  socket.close(ignored);
}

}  // namespace

unsigned worker_count(const ProxyOptions& options) {
  const unsigned n = options.threads != 0 ? options.threads : std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

std::size_t descriptors_needed(const ProxyOptions& options) {
  return options.max_connections * 2 + worker_count(options);
}

struct ProxyServer::Worker {
  Worker(std::size_t chunk_bytes, std::atomic<std::size_t>& pipes_left)
      : pool(chunk_bytes, kPooledChunksPerWorker),
        pipes(chunk_bytes, kPooledChunksPerWorker, &pipes_left),
        io(1),
        guard(asio::make_work_guard(io)) {}

  // Declared before io: destroying io destroys the coroutine frames of unfinished sessions,
  // which still give buffers back to the pool and leave the session set.
  BufferPool pool;
  PipePool pipes;
  std::unordered_set<ProxySession*> sessions;  // touched only on this worker's thread
  std::atomic<std::size_t> active{0};          // sessions placed here; read by every acceptor
  common::LimitEpisode accept_failures;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::optional<tcp::acceptor> acceptor;
};

ProxyServer::ProxyServer(ProxyOptions options, std::shared_ptr<InspectorFactory> inspectors,
                         common::MetricsRegistry& metrics)
    : options_(std::move(options)),
      inspectors_(std::move(inspectors)),
      limiter_(options_.max_connections, options_.max_connections_per_device),
      held_budget_(options_.held_bytes_budget),
      pipes_left_(options_.max_pipes),
      sessions_total_(metrics.counter("wardgate_proxy_sessions_total",
                                      "Device connections admitted and relayed.")),
      sessions_active_(metrics.gauge("wardgate_proxy_sessions_active", "Sessions open now.")),
      refused_by_limits_(refused_family(metrics).with({"connection-limit"})),
      refused_by_audit_(refused_family(metrics).with({"audit-fail-closed"})),
      upstream_failures_(
          metrics.counter("wardgate_proxy_upstream_failures_total",
                          "Sessions whose upstream did not accept the connection (device reset).")),
      inspector_failures_(
          metrics.counter("wardgate_proxy_inspector_failures_total",
                          "Sessions reset because their inspector failed (threw an exception).")),
      closed_first_message_timeout_(closed_family(metrics).with({"first-message-timeout"})),
      closed_message_timeout_(closed_family(metrics).with({"message-timeout"})),
      closed_held_bytes_budget_(closed_family(metrics).with({"held-bytes-budget"})),
      bytes_from_devices_(relayed_family(metrics).with({"from-device"})),
      bytes_to_devices_(relayed_family(metrics).with({"to-device"})) {}

ProxyServer::~ProxyServer() { stop(); }

void ProxyServer::start() {
  const unsigned n = worker_count(options_);
  std::uint16_t port = options_.listen_port;
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>(options_.chunk_bytes, pipes_left_);
    w->acceptor.emplace(open_listener(w->io, tcp::endpoint(options_.listen_address, port),
                                      options_.transparent, options_.backlog));
    port = w->acceptor->local_endpoint().port();  // an ephemeral port is shared by all workers
    workers_.push_back(std::move(w));
  }
  bound_port_ = port;
  for (auto& w : workers_) {
    asio::co_spawn(w->io, accept_loop(*w), asio::detached);
    threads_.emplace_back([&io = w->io] { io.run(); });
  }
  spdlog::info("proxy listening on {}:{} ({}, {} worker threads)",
               options_.listen_address.to_string(), bound_port_,
               options_.transparent ? "transparent" : "not transparent", n);
}

awaitable<void> ProxyServer::accept_loop(Worker& w) {
  for (;;) {
    auto [ec, socket] = co_await w.acceptor->async_accept(kNoThrow);
    if (!w.acceptor->is_open() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      if (out_of_resources(ec)) {
        if (w.accept_failures.on_refused()) {
          spdlog::error(
              "cannot accept connections: {}; retrying every {} ms until resources free up",
              ec.message(), kAcceptRetryDelay.count());
        }
        asio::steady_timer pause(w.io, kAcceptRetryDelay);
        co_await pause.async_wait(kNoThrow);
      }
      continue;
    }
    if (refusing_) {
      refuse(socket);
      continue;
    }
    if (const auto n = w.accept_failures.on_recovered()) {
      spdlog::info("accepting connections again after {} failed accepts", n);
    }

    boost::system::error_code e1;
    boost::system::error_code e2;
    const tcp::endpoint client = socket.remote_endpoint(e1);
    const tcp::endpoint original = socket.local_endpoint(e2);
    if (e1 || e2 || !client.address().is_v4() || !original.address().is_v4()) {
      refuse(socket);
      continue;
    }
    // Only diverted service ports are relayed; a direct connection to the listener would
    // otherwise be relayed to itself.
    const auto service = options_.services.find(original.port());
    if (service == options_.services.end()) {
      spdlog::debug("refusing connection from {} to {}: not an intercepted service port",
                    client.address().to_string(), original.port());
      refuse(socket);
      continue;
    }
    const std::string& protocol = service->second.protocol;
    if ((protocol == "dicom" || protocol == "hl7") && options_.clinical_traffic_allowed &&
        !options_.clinical_traffic_allowed()) {
      // Logged on the first refusal and every thousandth; the count is in the metrics.
      refused_by_audit_.inc();
      if (const auto n = static_cast<std::uint64_t>(refused_by_audit_.value());
          n == 1 || n % 1000 == 0) {
        spdlog::warn(
            "refusing {} connection from {}: the audit store is not keeping records "
            "(audit.store.on_failure fail-closed); {} refused so far",
            protocol, client.address().to_string(), n);
      }
      refuse(socket);
      continue;
    }
    const std::optional<UpstreamRoute> route =
        options_.route ? options_.route(client, original)
                       : UpstreamRoute{original, client.address().to_v4(), DeviceSide::kClient};
    if (!route || !route->connect_to.address().is_v4()) {
      spdlog::debug("refusing connection from {} to {}:{}: no upstream route",
                    client.address().to_string(), original.address().to_string(), original.port());
      refuse(socket);
      continue;
    }
    SessionInfo info = session_info(next_session_id_++, service->second, client, *route);
    if (limiter_.try_acquire(info.device_addr()) != ConnectionLimiter::Admission::kAdmitted) {
      refused_by_limits_.inc();
      refuse(socket);
      continue;
    }
    sessions_total_.inc();
    sessions_active_.inc();
    // The kernel spreads connections over the workers' listeners by hash, which can put the two
    // big transfers of the moment on one core; hand the session to the least busy worker instead.
    Worker& target = least_busy_worker(w);
    ++target.active;
    if (&target == &w) {
      start_session(w, std::move(socket), std::move(info));
    } else {
      const int fd = socket.release();
      asio::post(target.io, [this, &target, fd, info = std::move(info)]() mutable {
        start_session(target, tcp::socket(target.io, tcp::v4(), fd), std::move(info));
      });
    }
  }
}

ProxyServer::Worker& ProxyServer::least_busy_worker(Worker& preferred) {
  Worker* best = &preferred;
  for (auto& w : workers_) {
    if (w->active < best->active) best = w.get();
  }
  return *best;
}

void ProxyServer::start_session(Worker& w, tcp::socket socket, SessionInfo info) {
  // Undoes what admitting the session did, however the session's coroutine ends: normally, by an
  // exception (a throwing inspector), or destroyed unfinished with the worker's io_context. A
  // session that skipped this would hold its device's connection slot for good and stay in the
  // worker's set for drain() to follow after its frame is gone.
  class Bookkeeping {
   public:
    Bookkeeping(ProxyServer& server, Worker& worker, ProxySession& session, in_addr device)
        : server_(server), worker_(worker), session_(session), device_(device) {
      worker_.sessions.insert(&session_);
    }
    ~Bookkeeping() {
      worker_.sessions.erase(&session_);
      server_.limiter_.release(device_);
      --worker_.active;
      server_.sessions_active_.dec();
    }
    Bookkeeping(const Bookkeeping&) = delete;
    Bookkeeping& operator=(const Bookkeeping&) = delete;

   private:
    ProxyServer& server_;
    Worker& worker_;
    ProxySession& session_;
    in_addr device_;
  };

  asio::co_spawn(
      w.io,
      [](ProxyServer* self, Worker* worker, tcp::socket s, SessionInfo i) -> awaitable<void> {
        const in_addr device = i.device_addr();
        ProxySession session(*self, worker->pool, worker->pipes, std::move(s), std::move(i));
        const Bookkeeping bookkeeping(*self, *worker, session, device);
        co_await session.run();
      }(this, &w, std::move(socket), std::move(info)),
      [](const std::exception_ptr& e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::error("session ended by an unexpected error: {}", ex.what());
        } catch (...) {
          spdlog::error("session ended by an unexpected error of unknown type");
        }
      });
}

common::Counter& ProxyServer::closed_by(CloseCause cause) {
  if (cause == CloseCause::kFirstMessageTimeout) return closed_first_message_timeout_;
  if (cause == CloseCause::kMessageTimeout) return closed_message_timeout_;
  return closed_held_bytes_budget_;
}

void ProxyServer::stop_accepting() { refusing_ = true; }

std::size_t ProxyServer::drain(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (sessions_active_.value() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto remaining = static_cast<std::size_t>(sessions_active_.value());
  if (remaining == 0) return 0;
  spdlog::warn("drain deadline reached with {} sessions open; closing them", remaining);
  for (auto& w : workers_) {
    asio::post(w->io, [&w] {
      const std::vector<ProxySession*> open(w->sessions.begin(), w->sessions.end());
      for (ProxySession* s : open) s->shutdown();
    });
  }
  const auto hard_until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (sessions_active_.value() > 0 && std::chrono::steady_clock::now() < hard_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return remaining;
}

void ProxyServer::stop() {
  for (auto& w : workers_) {
    w->guard.reset();
    w->io.stop();
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  workers_.clear();
}

}  // namespace wardgate::proxy
