# The `halab` Vagrant provider: VMs booted by halab itself on this machine, one qemu (TCG)
# per machine inside the lab's own network namespaces (docs/vagrant.md). The top-level
# Vagrantfile loads this file when it runs under Vagrant; no gem, no download.
#
#   vagrant up --provider=halab      (halab up sets VAGRANT_DEFAULT_PROVIDER=halab)
#
# Every machine action calls halab (`HALAB_BIN`, else `halab` on PATH):
#   up          `halab testbed vm up LAB NODE --dir DIR --box BOX`: the box (added by vagrant
#               from `config.vm.box_url`, made by `halab testbed box`) names the cached VM
#               image; the first machine makes the lab's namespaces; waits for sshd.
#   state       `halab testbed vm state LAB NODE`
#   ssh_info    `halab testbed vm ssh-info LAB NODE --dir DIR`: root, the lab's key, a
#               ProxyCommand through the lab's control namespace.
#   destroy     `halab testbed vm destroy LAB NODE`: the last machine removes the namespaces.
# DIR is vagrant's state dir for the lab (VAGRANT_DOTFILE_PATH) + /halab: the lab's ssh key.
# Provisioners and synced folders are not run: `halab up` installs and configures over ssh.
require "json"
require "open3"

module HalabVagrant
  # A halab command failed: its own message, as vagrant prints errors.
  class Error < Vagrant::Errors::VagrantError
    def error_message
      @extra_data[:message]
    end
  end

  # `config.vm.provider "halab" do |h| h.lab = FILE end`
  class Config < Vagrant.plugin("2", :config)
    attr_accessor :lab

    def initialize
      super
      @lab = UNSET_VALUE
    end

    def finalize!
      @lab = ENV["HALAB_LAB"] if @lab == UNSET_VALUE
    end

    def validate(_machine)
      errors = []
      errors << "halab provider: `lab` (the lab file) is not set" if @lab.to_s.empty?
      { "halab provider" => errors }
    end
  end

  # Runs halab for one machine.
  module Cli
    def self.bin
      ENV.fetch("HALAB_BIN", "halab")
    end

    def self.dir(machine)
      machine.env.local_data_path.join("halab").to_s
    end

    def self.run(machine, *args)
      argv = [bin, "testbed", "vm", *args]
      out, err, status = Open3.capture3(*argv)
      unless status.success?
        raise Error, message: "halab provider: `#{argv.join(' ')}` failed (#{status.exitstatus}):\n#{err.strip}"
      end

      [out, err]
    end

    def self.lab(machine)
      machine.provider_config.lab
    end
  end

  module Action
    # Boots the machine's VM (and waits for its sshd).
    class Up
      def initialize(app, _env)
        @app = app
      end

      def call(env)
        machine = env[:machine]
        unless machine.box
          raise Error, message: "halab provider: machine #{machine.name} has no box " \
                                "(halab up names it; by hand: `halab testbed box` prints HALAB_BOX and HALAB_BOX_URL)"
        end
        env[:ui].info("halab: booting #{machine.name} (qemu, TCG, in the lab's namespaces)")
        _, err = Cli.run(machine, "up", Cli.lab(machine), machine.name.to_s,
                         "--dir", Cli.dir(machine), "--box", machine.box.directory.to_s)
        env[:ui].info("halab: #{err.strip}") unless err.strip.empty?
        machine.id = "halab-#{machine.name}"
        @app.call(env)
      end
    end

    # Stops the machine's VM.
    class Destroy
      def initialize(app, _env)
        @app = app
      end

      def call(env)
        machine = env[:machine]
        _, err = Cli.run(machine, "destroy", Cli.lab(machine), machine.name.to_s)
        env[:ui].info("halab: #{err.strip}") unless err.strip.empty?
        machine.id = nil
        @app.call(env)
      end
    end
  end

  class Provider < Vagrant.plugin("2", :provider)
    def initialize(machine)
      super
      @machine = machine
    end

    def action(name)
      b = Vagrant::Action::Builder.new
      case name
      when :up
        b.use Vagrant::Action::Builtin::HandleBox
        b.use Action::Up
      when :destroy
        b.use Vagrant::Action::Builtin::Call, Vagrant::Action::Builtin::DestroyConfirm do |env, b2|
          b2.use Action::Destroy if env[:result]
        end
      when :ssh
        b.use Vagrant::Action::Builtin::SSHExec
      when :ssh_run
        b.use Vagrant::Action::Builtin::SSHRun
      else
        return nil
      end
      b
    end

    def state
      out, = Cli.run(@machine, "state", Cli.lab(@machine), @machine.name.to_s)
      id = out.strip.to_sym
      long = {
        running: "The VM runs (qemu in the lab's namespaces).",
        stopped: "The VM's qemu is gone; `vagrant destroy` cleans up.",
        not_created: "No VM: `vagrant up` boots one.",
      }.fetch(id, out.strip)
      Vagrant::MachineState.new(id, id.to_s.tr("_", " "), long)
    end

    def ssh_info
      return nil unless state.id == :running

      out, = Cli.run(@machine, "ssh-info", Cli.lab(@machine), @machine.name.to_s, "--dir", Cli.dir(@machine))
      info = JSON.parse(out)
      {
        host: info.fetch("host"),
        port: info.fetch("port"),
        username: info.fetch("username"),
        private_key_path: [info.fetch("private_key_path")],
        proxy_command: info.fetch("proxy_command"),
      }
    end

    def to_s
      "halab (qemu in the lab's namespaces)"
    end
  end

  class Plugin < Vagrant.plugin("2")
    name "halab"
    description "VMs booted by halab: one qemu per machine inside the lab's network namespaces"

    config(:halab, :provider) { Config }
    provider(:halab, parallel: true, box_optional: false) { Provider }
  end
end
