#include "niah/text_source.h"

#include <glob.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "base/error.h"

namespace ratkv::niah {

namespace {

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Runs `gzip -dc -- path` without a shell (no quoting problems) and collects its output.
std::string gunzip(const std::string& path) {
  int fds[2];
  require(pipe(fds) == 0, "cannot create a pipe to read ", path);
  const pid_t pid = fork();
  require(pid >= 0, "cannot start gzip to read ", path);
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execlp("gzip", "gzip", "-dc", "--", path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  require(WIFEXITED(status) && WEXITSTATUS(status) == 0, "cannot decompress ", path,
          " (gzip failed or is not installed)");
  return out;
}

}  // namespace

std::vector<std::string> parse_source_list(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

std::vector<std::string> expand_sources(const std::vector<std::string>& patterns) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& pattern : patterns) {
    glob_t g{};
    const int rc = glob(pattern.c_str(), 0, nullptr, &g);
    std::vector<std::string> matches;
    if (rc == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) matches.emplace_back(g.gl_pathv[i]);
    globfree(&g);
    require(
        !matches.empty(), "haystack source \"", pattern,
        "\" matches no file (the default sources come from the Debian package linux-doc-6.1, installed by "
        "scripts/setup.sh; or pass --haystack)");
    std::sort(matches.begin(), matches.end());
    for (auto& m : matches)
      if (seen.insert(m).second) out.push_back(std::move(m));
  }
  return out;
}

std::string read_text_file(const std::string& path) {
  if (ends_with(path, ".gz")) return gunzip(path);
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "cannot read ", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace ratkv::niah
