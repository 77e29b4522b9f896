# Loads the top-level Vagrantfile under a fake `Vagrant` module and prints, as JSON, the
# machines it defines: what `vagrant up` would create, checked on a machine without Vagrant.
#
#   HALAB_LAB=labs/seed000 ruby tests/vagrant/harness.rb [VAGRANTFILE]
#
# Output: {"box": GLOBAL_BOX, "box_url": GLOBAL_BOX_URL, "machines": [{"name", "hostname", "box", "networks": [{"type",
# "ip", "options"}], "providers": {NAME: {SETTING: VALUE}}, "provisioners": [...]}]}.
# Only the configuration API the Vagrantfile may use is faked; anything else raises
# NoMethodError, so a typo (`vm.hostnme`) fails here as it would under Vagrant.
require "json"

module HalabFake
  # A provider's settings (`vb.memory = 512`): any assignment, recorded.
  class ProviderConfig
    attr_reader :settings

    def initialize
      @settings = {}
    end

    def method_missing(name, *args)
      key = name.to_s
      return super unless key.end_with?("=") && args.length == 1

      @settings[key.chomp("=")] = args.first
    end

    def respond_to_missing?(name, include_private = false)
      name.to_s.end_with?("=") || super
    end
  end

  # `config.vm` (global, or a machine's): Vagrant's VM configuration, recorded.
  class VM
    attr_accessor :box, :hostname, :box_url, :box_check_update
    attr_reader :networks, :providers, :provisioners, :synced_folders, :machines

    def initialize
      @networks = []
      @providers = {}
      @provisioners = []
      @synced_folders = []
      @machines = []
    end

    def network(type, **options)
      ip = options.delete(:ip)
      @networks << { "type" => type.to_s, "ip" => ip, "options" => options.transform_keys(&:to_s) }
    end

    def provider(name, **_options)
      config = (@providers[name.to_s] ||= ProviderConfig.new)
      yield config, nil if block_given?
    end

    def provision(name, **options)
      @provisioners << { "name" => name.to_s, "options" => options.transform_keys(&:to_s) }
    end

    def synced_folder(host, guest, **options)
      @synced_folders << { "host" => host, "guest" => guest, "options" => options.transform_keys(&:to_s) }
    end

    def define(name, **_options)
      machine = Config.new
      yield machine if block_given?
      @machines << [name.to_s, machine]
    end
  end

  class Config
    attr_reader :vm

    def initialize
      @vm = VM.new
    end
  end
end

module Vagrant
  @configs = []

  class << self
    attr_reader :configs

    def configure(version)
      raise ArgumentError, "Vagrant.configure(#{version.inspect}): the harness knows version \"2\" only" unless version.to_s == "2"

      config = HalabFake::Config.new
      yield config
      @configs << config
    end
  end
end

vagrantfile = File.expand_path(ARGV.fetch(0, File.join(__dir__, "..", "..", "Vagrantfile")))
load vagrantfile

machines = Vagrant.configs.flat_map do |config|
  config.vm.machines.map do |name, machine|
    vm = machine.vm
    {
      "name" => name,
      "hostname" => vm.hostname,
      "box" => vm.box || config.vm.box,
      "networks" => vm.networks,
      "providers" => vm.providers.transform_values(&:settings),
      "provisioners" => vm.provisioners,
      "synced_folders" => vm.synced_folders,
    }
  end
end
puts JSON.pretty_generate({ "box" => Vagrant.configs.map { |c| c.vm.box }.compact.last,
                            "box_url" => Vagrant.configs.map { |c| c.vm.box_url }.compact.last,
                            "machines" => machines })
